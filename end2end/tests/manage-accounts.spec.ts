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

test('the user list reads on a phone and keeps its actions in view on a laptop', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Email address').fill('admin@initech.example');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();

  // 390 px: each row a block, each cell naming its column (the header row is out of sight).
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/manage');
  const row = page.getByRole('row', { name: /user@initech\.example/ });
  const email = row.getByRole('cell', { name: /user@initech\.example/ });
  await expect(email).toBeVisible();
  const label = await email.evaluate((cell) => getComputedStyle(cell, '::before').content);
  expect(label).toBe('"Email: "');
  const box = await email.boundingBox();
  expect(box!.x + box!.width).toBeLessThanOrEqual(390);
  const actions = row.locator('td.actions');
  expect(await actions.evaluate((cell) => getComputedStyle(cell, '::before').content)).toBe('"Actions: "');
  const actionsBox = await actions.boundingBox();
  expect(actionsBox!.x + actionsBox!.width).toBeLessThanOrEqual(390);

  // 1280 px: a table again, with the actions column inside the screen.
  await page.setViewportSize({ width: 1280, height: 800 });
  await expect(page.locator('table thead')).toBeVisible();
  expect(await email.evaluate((cell) => getComputedStyle(cell, '::before').content)).toBe('none');
  const wide = await actions.boundingBox();
  expect(wide!.x + wide!.width).toBeLessThanOrEqual(1280);
});
