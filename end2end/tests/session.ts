// Signing in as one of the demo people, for the end-to-end tests.
import { expect, type Page } from '@playwright/test';

export const PASSWORD = 'Portcullis-Demo-2026';

/** Signs `page` in as `email` and collects uncaught page errors into the list it returns. */
export async function signIn(page: Page, email: string): Promise<string[]> {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto('/');
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
  return problems;
}

/** Fills the case form's choices (not availability, which has no default) and its texts. */
export async function fillCaseForm(page: Page, subject: string, description: string) {
  await page.getByLabel('Product version').selectOption('2.34');
  await page.getByLabel('Impact').selectOption('Production degraded');
  await page.getByLabel('Workaround or rollback available').selectOption('No');
  await page.getByLabel('Feature').selectOption('Canary Analysis');
  await page.getByLabel('Service').selectOption('Orca');
  await page.getByLabel('Affected environment').selectOption('Staging');
  await page.getByLabel('Subject').fill(subject);
  await page.getByLabel('Description').fill(description);
}
