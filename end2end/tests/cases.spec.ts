import { test, expect } from '@playwright/test';

const PASSWORD = 'Portcullis-Demo-2026';

test('a customer files a case, first told that availability has no default', async ({ page }) => {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto('/');
  await page.getByLabel('Email address').fill('user@acme.example');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Cases' }).click();
  await page.getByRole('link', { name: 'Open a case' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Open a case');

  await page.getByLabel('Product version').selectOption('2.34');
  await page.getByLabel('Impact').selectOption('Production degraded');
  await page.getByLabel('Workaround or rollback available').selectOption('No');
  await page.getByLabel('Feature').selectOption('Canary Analysis');
  await page.getByLabel('Service').selectOption('Orca');
  await page.getByLabel('Affected environment').selectOption('Staging');
  await page.getByLabel('Subject').fill('Canary stage never finishes');
  await page.getByLabel('Description').fill('Every canary analysis in Staging waits forever since the upgrade.');
  await page.getByRole('button', { name: 'Open case' }).click();

  // No availability chosen: refused, said at the top and at the field; what was typed is kept.
  await expect(page.getByRole('alert')).toContainText('There is no default');
  await expect(page.locator('#availability_id-error')).toContainText('Choose when we can reach you');
  await expect(page.getByLabel('Subject')).toHaveValue('Canary stage never finishes');

  await page.getByLabel('Customer availability').selectOption({ index: 1 });
  await page.getByRole('button', { name: 'Open case' }).click();
  await expect(page.getByRole('status')).toContainText('Your case was opened');
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Canary stage never finishes');
  await expect(page.getByRole('heading', { level: 1 })).toContainText(/CS\d{7}/);

  await page.getByLabel('Add a comment').fill('It also happens in Development.');
  await page.getByRole('button', { name: 'Send comment' }).click();
  await expect(page.getByText('It also happens in Development.')).toBeVisible();
  expect(problems, problems.join('\n')).toEqual([]);
});
