// Single sign-on in a real browser: a customer administrator connects their account to their
// OpenID provider (a real one, `oidc-provider`, started by the test script), and a colleague signs
// in through it from the sign-in page with their work email alone.
import { test, expect } from '@playwright/test';
import { signIn, violations } from './session';

const ISSUER = process.env.PORTCULLIS_E2E_OIDC_ISSUER ?? 'http://127.0.0.1:3109';

test('an administrator connects single sign-on and a colleague signs in through it', async ({ page }) => {
  const problems = await signIn(page, 'admin@globex.example');
  await page.goto('/manage');
  await page.getByRole('link', { name: 'Single sign-on' }).click();
  await expect(page.getByRole('heading', { name: 'Single sign-on', level: 1 })).toBeVisible();
  await expect(page.getByText('/sso/callback')).toBeVisible();
  await page.getByLabel('Issuer URL').fill(ISSUER);
  await page.getByLabel('Client ID').fill('portal');
  await page.getByLabel('Client secret').fill('portal-secret');
  await page.getByLabel('Email domains').fill('globex.example');
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByRole('status')).toContainText('The connection works');
  expect(await violations(page)).toEqual([]);
  await page.getByRole('button', { name: 'Sign out' }).first().click();

  // The colleague gives only their work email; the provider signs them in and sends them back.
  await page.getByLabel('Your work email').fill('user@globex.example');
  await page.getByRole('button', { name: 'Continue with single sign-on' }).click();
  await expect(page).toHaveURL(new RegExp(`^${ISSUER}/interaction/`));
  await page.getByPlaceholder('Enter any login').fill('user@globex.example');
  await page.getByPlaceholder('and password').fill('anything');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('link', { name: 'Your account' })).toBeVisible();
  await expect(page.locator('.site-header__name')).toHaveText('Gus Adeyemi');
  expect(problems).toEqual([]);
});
