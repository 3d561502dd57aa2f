// Forgiving forms: a refused form keeps what was typed, with script and without; the problems
// take focus and their links lead to the fields; a form being sent says so and is sent once;
// a page change loads the next page whole, with no bundle where nothing on it runs in the browser.
import { test, expect, type Page } from '@playwright/test';
import { fillCaseForm, hydrated, PASSWORD, signIn } from './session';

function watchForProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  return problems;
}

test('a refused sign-in keeps the email, never the password, and leads to what is wrong', async ({ page }) => {
  const problems = watchForProblems(page);
  await page.goto('/');
  await hydrated(page);
  await page.getByLabel('Email address').fill('admin@globex.example');
  await page.getByLabel('Password').fill('not-the-right-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const summary = page.getByRole('alert');
  await expect(summary).toContainText('The email address or password is incorrect.');
  await expect(summary).toBeFocused();
  expect(page.url()).not.toContain('__err');
  await expect(page.getByLabel('Email address')).toHaveValue('admin@globex.example');
  await expect(page.getByLabel('Password')).toHaveValue('');

  // A problem with one field: the summary's link takes focus to it.
  await page.getByLabel('Email address').fill('not an email');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(summary).toContainText('Enter an email address in the correct format');
  await summary.getByRole('link', { name: /Enter an email address/ }).click();
  await expect(page.getByLabel('Email address')).toBeFocused();
  await expect(page.getByLabel('Email address')).toHaveValue('not an email');
  expect(problems, problems.join('\n')).toEqual([]);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('a refused invitation comes back with the names typed and the problem at its field', async ({ page }) => {
    await page.goto('/');
    await page.getByLabel('Email address').fill('admin@acme.example');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.goto('/manage/new');
    await page.getByLabel('First name').fill('Fox');
    await page.getByLabel('Last name').fill('Mulder');
    await page.getByLabel('Email address').fill('fox.mulder@');
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await expect(page).toHaveURL(/\/manage\/new$/);
    await expect(page.getByRole('alert')).toContainText('There is a problem');
    await expect(page.getByLabel('First name')).toHaveValue('Fox');
    await expect(page.getByLabel('Last name')).toHaveValue('Mulder');
    await expect(page.getByLabel('Email address')).toHaveValue('fox.mulder@');
    await expect(page.locator('#email-error')).toBeVisible();
    // Read once: the page as it stands after a reload.
    await page.reload();
    await expect(page.getByRole('alert')).toHaveCount(0);
    await expect(page.getByLabel('First name')).toHaveValue('');
  });
});

test('a case form clicked twice on a slow connection files one case and shows it is sending', async ({ page }) => {
  const problems = await signIn(page, 'user@acme.example');
  await page.goto('/cases/new');
  await hydrated(page);
  const subject = `Webhooks arrive twice ${Date.now()}`;
  await fillCaseForm(page, subject, 'Each webhook is delivered twice since Monday.');
  await page.getByLabel('Customer availability').selectOption({ index: 1 });
  // The server answers slowly: the person clicks again while it works.
  await page.route('**/api/cases/create', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await route.continue();
  });
  // Three clicks in a row, from the page itself (a locator would wait for the page the first
  // leads to): the first sends the form and marks it as sending; the others are refused.
  const sent = await page.evaluate(() => {
    const form = document.querySelector<HTMLFormElement>('form[action="/api/cases/create"]')!;
    const button = form.querySelector<HTMLButtonElement>('button[type=submit]')!;
    let submits = 0;
    form.addEventListener('submit', () => submits++);
    button.click();
    const pending = form.hasAttribute('data-pending');
    button.click();
    button.click();
    return { pending, submits };
  });
  expect(sent).toEqual({ pending: true, submits: 1 });
  await expect(page.getByRole('status')).toContainText('Your case was opened');
  await page.unroute('**/api/cases/create');
  await page.goto('/cases');
  await expect(page.getByText(subject)).toHaveCount(1);
  expect(problems, problems.join('\n')).toEqual([]);
});

test('a page change loads a whole page with its own title, marks where one is, and loads no script it does not need', async ({ page }) => {
  const problems = await signIn(page, 'user@acme.example');
  await hydrated(page);
  const scripts: string[] = [];
  page.on('request', (request) => {
    if (/\.(js|wasm)$/.test(new URL(request.url()).pathname)) scripts.push(request.url());
  });
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Home' })).toHaveAttribute('aria-current', 'page');
  // Pages are rendered by the server alone: following a link loads the next one as a document,
  // so the browser starts the new page from its top and announces its title.
  const loaded = page.waitForEvent('load');
  await nav.getByRole('link', { name: 'Knowledge base' }).click();
  await loaded;
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Knowledge base');
  await expect(page).toHaveTitle('Knowledge base · Portcullis');
  await expect(nav.getByRole('link', { name: 'Knowledge base' })).toHaveAttribute('aria-current', 'page');
  await expect(nav.getByRole('link', { name: 'Home' })).not.toHaveAttribute('aria-current', 'page');
  // The knowledge base's home has nothing that runs in the browser: no bundle is fetched for it.
  await hydrated(page);
  expect(scripts, scripts.join('\n')).toEqual([]);
  // The skip link moves focus to the main content, bundle or not.
  await page.keyboard.press('Home');
  await page.getByRole('link', { name: 'Skip to main content' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.locator('#main')).toBeFocused();
  expect(problems, problems.join('\n')).toEqual([]);
});
