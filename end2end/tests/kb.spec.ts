import { test, expect, type Page } from '@playwright/test';
import { signIn } from './session';

/** Opens the editor for a new article and waits until the page is interactive (live preview). */
async function newArticle(page: Page) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'KB articles' }).click();
  await page.getByRole('link', { name: 'Write an article' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Write an article');
  await page.waitForLoadState('networkidle');
}

/** Types the article body until the live preview shows `shown` (typing before the page is
 * interactive would not reach the preview). */
async function writeBody(page: Page, body: string, shown: (p: Page) => Promise<void>) {
  await expect(async () => {
    await page.getByLabel('Article', { exact: true }).fill('');
    await page.getByLabel('Article', { exact: true }).fill(body);
    await shown(page);
  }).toPass({ timeout: 15_000 });
}

test('staff write and publish an article; an anonymous visitor finds it by search', async ({ page, browser }) => {
  const problems = await signIn(page, 'agent@vendor.example');
  await newArticle(page);
  const word = `zephyrwidget${Date.now()}`;
  const title = `Rotating the ${word} signing key`;
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Category').selectOption({ label: 'Security' });
  await page.getByLabel('Who may read it').selectOption('public');
  await writeBody(page, `Rotate the **${word}** key every 90 days.\n\nSee KB0010001.`, async (p) => {
    await expect(p.locator('#preview strong')).toHaveText(word, { timeout: 2_000 });
  });
  await expect(page.locator('#preview a[href="/kb/KB0010001"]')).toHaveText('KB0010001');
  await page.getByRole('button', { name: 'Publish' }).click();
  await expect(page.getByText('Published.', { exact: true })).toBeVisible();
  const number = (await page.getByRole('heading', { level: 1 }).textContent())!.match(/KB\d{7}/)![0];
  await expect(page.getByRole('cell', { name: 'Published' })).toBeVisible();

  // A visitor, not signed in, searches the knowledge base and opens it.
  const visitorContext = await browser.newContext();
  const visitor = await visitorContext.newPage();
  visitor.on('pageerror', (err) => problems.push(err.message));
  await visitor.goto('/');
  await visitor.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Knowledge base' }).click();
  await visitor.getByLabel('Search the knowledge base').fill(`${word} key`);
  await visitor.getByRole('button', { name: 'Search' }).click();
  await expect(visitor.getByText(`1 article match`)).toBeVisible();
  await expect(visitor.locator('.kb-result mark').first()).toHaveText(word);
  await visitor.getByRole('link', { name: title }).click();
  await expect(visitor).toHaveURL(new RegExp(`/kb/${number}$`));
  await expect(visitor.getByRole('heading', { level: 1 })).toHaveText(title);
  await expect(visitor.locator('link[rel="canonical"]')).toHaveAttribute('href', new RegExp(`/kb/${number}$`));
  // It helped.
  await visitor.getByRole('button', { name: 'Yes' }).click();
  await expect(visitor.getByText('Thank you for your answer.')).toBeVisible();
  await expect(visitor.getByText('1 of 1 readers found this helpful.')).toBeVisible();
  await visitorContext.close();
  expect(problems).toEqual([]);
});

test('a customer-only article is invisible to a visitor and readable after signing in', async ({ page }) => {
  const title = 'Pipeline stuck in RUNNING after an Orca restart';
  await page.goto('/kb/KB0010003');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Page not found');
  await expect(page.getByText(title)).toHaveCount(0);
  await page.goto('/kb?q=orca+restart');
  await expect(page.getByText('No articles match “orca restart”.')).toBeVisible();

  await signIn(page, 'user@acme.example');
  await page.goto('/kb/KB0010003');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(title);
  await expect(page.getByText('Customers only')).toBeVisible();
  await page.goto('/kb?q=orca+restart');
  await expect(page.getByRole('link', { name: title })).toBeVisible();

  // The case form suggests it while the subject is typed.
  await page.goto('/cases/new');
  await page.waitForLoadState('networkidle');
  await expect(async () => {
    await page.getByLabel('Subject').fill('');
    await page.getByLabel('Subject').pressSequentially('orca rest');
    await expect(page.getByRole('heading', { name: 'These articles may answer your question' })).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 15_000 });
  await expect(page.locator('.kb-suggestions').getByRole('link', { name: title })).toHaveAttribute('href', '/kb/KB0010003');
});

test('a script injected into an article does not run, in the preview or for readers', async ({ page, browser }) => {
  const problems = await signIn(page, 'platform.admin@vendor.example');
  let dialogs = 0;
  page.on('dialog', async (d) => { dialogs += 1; await d.dismiss(); });
  await newArticle(page);
  const title = `Hostile markup ${Date.now()}`;
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Category').selectOption({ label: 'Getting started' });
  await page.getByLabel('Who may read it').selectOption('public');
  const body = [
    'Harmless text stays.',
    '<script>window.__kbXss = 1; alert(1)</script>',
    '<img src="x" onerror="window.__kbXss = 2; alert(2)">',
    '<svg onload="window.__kbXss = 3"></svg>',
    '[click me](javascript:window.__kbXss=4)',
    '<a href="javascript:window.__kbXss=5">and me</a>',
    '<iframe srcdoc="<script>parent.__kbXss=6</script>"></iframe>',
  ].join('\n\n');
  await writeBody(page, body, async (p) => {
    await expect(p.locator('#preview')).toContainText('Harmless text stays.', { timeout: 2_000 });
  });
  await expect(page.locator('#preview script, #preview [onerror], #preview svg, #preview iframe')).toHaveCount(0);
  await page.getByRole('button', { name: 'Publish' }).click();
  await expect(page.getByText('Published.', { exact: true })).toBeVisible();
  const number = (await page.getByRole('heading', { level: 1 }).textContent())!.match(/KB\d{7}/)![0];

  const visitorContext = await browser.newContext();
  const visitor = await visitorContext.newPage();
  visitor.on('dialog', async (d) => { dialogs += 1; await d.dismiss(); });
  visitor.on('pageerror', (err) => problems.push(err.message));
  await visitor.goto(`/kb/${number}`);
  await expect(visitor.getByRole('heading', { level: 1 })).toHaveText(title);
  await expect(visitor.locator('.kb-body')).toContainText('Harmless text stays.');
  await visitor.waitForLoadState('networkidle');
  await visitor.locator('.kb-body').getByText('click me').click();
  await visitor.locator('.kb-body').getByText('and me').click();
  await expect(visitor.locator('.kb-body script, .kb-body [onerror], .kb-body svg, .kb-body iframe')).toHaveCount(0);
  await expect(visitor.locator('.kb-body a[href^="javascript"]')).toHaveCount(0);
  expect(await visitor.evaluate(() => (window as unknown as { __kbXss?: number }).__kbXss)).toBeUndefined();
  expect(await page.evaluate(() => (window as unknown as { __kbXss?: number }).__kbXss)).toBeUndefined();
  expect(dialogs).toBe(0);
  await visitorContext.close();
  expect(problems).toEqual([]);
});
