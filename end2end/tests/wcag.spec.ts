// axe-core (WCAG 2.2 A and AA rules) on the pages each role uses, including a form's error state.
// Named to run after the other suites, so cases, change requests and articles exist to open.
import { test, expect, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { signIn } from './session';

async function violations(page: Page, path: string): Promise<string[]> {
  await page.goto(path);
  await page.locator('html[data-hydrated]').waitFor({ state: 'attached' });
  const result = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'])
    .analyze();
  return result.violations.map(
    (v) => `${path}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`,
  );
}

const pages: { who: string | null; paths: string[] }[] = [
  { who: null, paths: ['/', '/kb', '/forgot-password'] },
  {
    who: 'user@acme.example',
    paths: ['/', '/cases', '/cases/new', '/changes', '/kb', '/notices', '/account/password', '/account/security', '/catalog/matrix'],
  },
  { who: 'admin@acme.example', paths: ['/', '/manage', '/manage/new', '/manage/history', '/manage/provisioning', '/manage/sso', '/manage/reviews', '/changes/new'] },
  { who: 'agent@vendor.example', paths: ['/', '/staff/cases', '/staff/mail', '/staff', '/staff/kb', '/staff/kb/new', '/changes', '/staff/access-reviews'] },
  {
    who: 'platform.admin@vendor.example',
    paths: ['/', '/staff', '/staff/audit', '/staff/catalog', '/staff/communications', '/staff/notices/new', '/staff/accounts/new', '/staff/sign-in'],
  },
];

for (const { who, paths } of pages) {
  test(`no accessibility violations on the pages of ${who ?? 'a visitor'}`, async ({ page }) => {
    test.setTimeout(90_000);
    if (who) await signIn(page, who);
    const found: string[] = [];
    for (const path of paths) found.push(...(await violations(page, path)));
    // A case or change request page, and a knowledge-base article, as this person reaches them.
    for (const [list, link] of [
      [who?.endsWith('vendor.example') ? '/staff/cases?queue=all' : '/cases?scope=team', /^\/cases\/CS/],
      ['/changes', /^\/changes\/CHG/],
      ['/kb', /^\/kb\/KB/],
    ] as [string, RegExp][]) {
      if (!who && list !== '/kb') continue;
      await page.goto(list);
      const hrefs = await page.locator('main a').evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''));
      const first = hrefs.find((h) => link.test(h));
      if (first) found.push(...(await violations(page, first)));
    }
    expect(found, found.join('\n')).toEqual([]);
  });
}

test('no accessibility violations in a refused form', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Email address').fill('not an email');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('There is a problem');
  const result = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'])
    .analyze();
  const found = result.violations.map((v) => `${v.id}: ${v.help}`);
  expect(found, found.join('\n')).toEqual([]);
});
