import { test, expect, Page } from '@playwright/test';

const PASSWORD = 'Portcullis-Demo-2026';

async function signIn(page: Page, email: string, password = PASSWORD) {
  await page.goto('/');
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Collects Content-Security-Policy violations and console errors of a page. */
function watchForProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  return problems;
}

const roles = [
  { email: 'user@acme.example', name: 'Uma Brandt', role: 'Customer user', manage: false, staff: false },
  { email: 'admin@acme.example', name: 'Ada Moreno', role: 'Customer administrator', manage: true, staff: false },
  { email: 'agent@vendor.example', name: 'Alex Lindqvist', role: 'Support agent', manage: false, staff: true },
  { email: 'platform.admin@vendor.example', name: 'Pat Okafor', role: 'Platform administrator', manage: false, staff: true },
];

for (const r of roles) {
  test(`${r.role} signs in, sees their home page and signs out`, async ({ page }) => {
    const problems = watchForProblems(page);
    await signIn(page, r.email);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Welcome, ${r.name}`);
    await expect(page).toHaveTitle('Home · Portcullis');
    const nav = page.getByRole('navigation', { name: 'Main' });
    await expect(nav.getByRole('link', { name: 'Manage Accounts' })).toHaveCount(r.manage ? 1 : 0);
    await expect(nav.getByRole('link', { name: 'Staff console' })).toHaveCount(r.staff ? 1 : 0);
    if (r.manage) {
      await nav.getByRole('link', { name: 'Manage Accounts' }).click();
      await expect(page.getByRole('heading', { level: 1 })).toHaveText('Manage Accounts');
      await expect(page.getByRole('cell', { name: 'user@acme.example' })).toBeVisible();
      await expect(page.getByText('globex.example')).toHaveCount(0);
    }
    if (r.staff) {
      await nav.getByRole('link', { name: 'Staff console' }).click();
      await expect(page.getByRole('cell', { name: 'Acme Corporation' })).toBeVisible();
    }
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Sign in to Portcullis');
    expect(problems, problems.join('\n')).toEqual([]);
    // The old session no longer opens signed-in pages.
    const res = await page.goto('/account/password');
    expect(res?.status()).toBe(401);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Sign in to continue');
  });
}

test('a wrong password shows an error that does not reveal whether the email exists', async ({ page }) => {
  await signIn(page, 'admin@globex.example', 'not-the-right-password');
  const summary = page.getByRole('alert');
  await expect(summary).toContainText('There is a problem');
  await expect(summary).toContainText('The email address or password is incorrect.');
  const known = await summary.innerText();

  await signIn(page, 'nobody-here@globex.example', 'not-the-right-password');
  await expect(page.getByRole('alert')).toContainText('The email address or password is incorrect.');
  expect(await page.getByRole('alert').innerText()).toBe(known);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Sign in to Portcullis');
});

test('the loader and the islands run under the Content-Security-Policy, the bundle only where needed', async ({ page }) => {
  const problems = watchForProblems(page);
  const scripts: string[] = [];
  page.on('request', (r) => {
    if (/\.(js|wasm)$/.test(new URL(r.url()).pathname)) scripts.push(r.url());
  });
  // The sign-in page has a form and nothing that runs as WASM: the inline loader (under the
  // page's nonce) holds the form while it is sent, and no bundle is fetched.
  await page.goto('/');
  await page.locator('html[data-hydrated]').waitFor({ state: 'attached' });
  expect(scripts).toEqual([]);
  await signIn(page, 'user@acme.example');
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
  // The case form has an island (suggestions under the subject): the bundle loads and hydrates it.
  const wasm = page.waitForResponse((r) => r.url().endsWith('.wasm'));
  await page.goto('/cases/new');
  expect((await wasm).status()).toBe(200);
  await page.locator('html[data-hydrated]').waitFor({ state: 'attached' });
  await expect(page.locator('leptos-island')).toHaveCount(1);
  // Give hydration a moment to report any violation or panic.
  await page.waitForLoadState('networkidle');
  expect(problems, problems.join('\n')).toEqual([]);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('sign-in and its errors work before any WASM loads', async ({ page }) => {
    await signIn(page, 'user@initech.example', 'wrong');
    await expect(page.getByRole('alert')).toContainText('The email address or password is incorrect.');
    await signIn(page, 'user@initech.example');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Welcome, Ivy Chen');
  });
});
