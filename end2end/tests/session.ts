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
