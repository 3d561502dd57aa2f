import { test, expect } from '@playwright/test';

const PASSWORD = 'Portcullis-Demo-2026';

test('a customer administrator disables and re-enables a user after confirming', async ({ page }) => {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto('/');
  await page.getByLabel('Email address').fill('admin@initech.example');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Manage Accounts' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Manage Accounts');

  const row = page.getByRole('row', { name: /user@initech\.example/ });
  await row.getByText('Disable Ivy Chen', { exact: true }).click();
  await expect(row.getByText('Disable Ivy Chen? They are signed out at once and can no longer sign in.')).toBeVisible();
  await row.getByRole('button', { name: 'Yes, disable Ivy Chen' }).click();
  await expect(row.getByText('Disabled', { exact: true })).toBeVisible();

  // The disabled user cannot sign in.
  const other = await page.context().browser()!.newContext();
  const theirs = await other.newPage();
  await theirs.goto(page.url().replace(/\/manage.*$/, '/'));
  await theirs.getByLabel('Email address').fill('user@initech.example');
  await theirs.getByLabel('Password').fill(PASSWORD);
  await theirs.getByRole('button', { name: 'Sign in' }).click();
  await expect(theirs.getByRole('alert')).toContainText('The email address or password is incorrect.');
  await other.close();

  await row.getByRole('button', { name: 'Re-enable Ivy Chen' }).click();
  await expect(row.getByText('Active', { exact: true })).toBeVisible();
  // Nobody is offered to disable themselves.
  await expect(page.getByRole('row', { name: /admin@initech\.example/ }).getByText('You')).toBeVisible();
  expect(problems, problems.join('\n')).toEqual([]);
});
