// Signing in as one of the demo people, for the end-to-end tests.
import { expect, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';

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

/** `YYYY-MM-DDTHH:MM`, UTC (the demo people's zone), `days` from now. */
export function local(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 16);
}

/** Fills the change request form with a valid request titled `short`. */
export async function fillChange(page: Page, short: string) {
  await page.getByLabel('Environment').selectOption('Production');
  await page.getByLabel('Short description').fill(short);
  await page.getByLabel('Description of the change').fill('Scale Clouddriver from 2 to 4 replicas.');
  await page.getByLabel('Reason', { exact: true }).fill('Deploys queue up at peak hours.');
  await page.getByLabel('Capacity').check();
  await page.getByLabel('Cost').check();
  await page.getByLabel('Risk').selectOption('medium');
  await page.getByLabel('Window starts').fill(local(2));
  await page.getByLabel('Window ends').fill(local(3));
  await page.getByLabel('Rollback plan').fill('Scale back to 2 replicas.');
}

/** Waits until the page's script has taken over (hydration done). */
export async function hydrated(page: Page) {
  await page.locator('html[data-hydrated]').waitFor({ state: 'attached' });
}

/** axe-core's WCAG 2.2 AA findings on the page as it stands. */
export async function violations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'])
    .analyze();
  return result.violations.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}
