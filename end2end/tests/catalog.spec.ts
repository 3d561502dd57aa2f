import { test, expect } from '@playwright/test';
import { signIn } from './session';

test('a platform admin adds a feature, is told what is wrong with a bad one, and retires it', async ({ page }) => {
  const problems = await signIn(page, 'platform.admin@vendor.example');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Staff console' }).click();
  await page.getByRole('link', { name: 'Catalog' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Catalog');

  const features = page.locator('section#features');
  const name = `Blue-Green ${Date.now()}`;
  // Nothing typed: refused, at the top of the section and next to the field.
  await features.getByRole('button', { name: 'Add' }).click();
  await expect(page.locator('section#features .error-summary')).toContainText('Enter a name');
  await expect(page.locator('section#features .field-error')).toContainText('Enter a name');

  await features.getByLabel('Name').last().fill(name);
  await features.getByRole('button', { name: 'Add' }).click();
  await expect(page.getByRole('status')).toContainText('Saved');
  const entry = page.locator('section#features li', { hasText: name });
  await expect(entry).toBeVisible();

  // Retired: still listed, marked, and no longer offered on the case form.
  await entry.locator('summary').click();
  await entry.getByLabel('Active (offered on the case form)').uncheck();
  await entry.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('section#features li', { hasText: name })).toContainText('Retired');

  // The SLA targets and the matrix are on the same page.
  await expect(page.getByRole('heading', { name: 'SLA targets' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Save matrix' })).toBeVisible();
  expect(problems).toEqual([]);
});
