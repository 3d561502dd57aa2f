// A second factor in a real browser: a customer adds an authenticator app on their security
// page (QR code and key shown, password asked again), keeps the recovery codes shown once, then
// signs in with password and code, and once with a recovery code; the pages pass axe.
import { test, expect, type Page } from '@playwright/test';
import { PASSWORD, hydrated, signIn, violations } from './session';
import { totp } from './totp';

const EMAIL = 'user@globex.example';

async function signOut(page: Page) {
  await page.getByRole('button', { name: 'Sign out' }).first().click();
  await expect(page.getByRole('heading', { name: 'Sign in to Portcullis' })).toBeVisible();
}

async function password(page: Page) {
  await page.goto('/');
  await page.getByLabel('Email address').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Confirm it is you' })).toBeVisible();
  // Half-way: nothing of the signed-in portal yet.
  await expect(page.getByRole('link', { name: 'Your account' })).toHaveCount(0);
}

test('a customer adds an authenticator app and signs in with it', async ({ page }) => {
  const problems = await signIn(page, EMAIL);
  await page.getByRole('link', { name: 'Your account' }).click();
  await expect(page.getByRole('heading', { name: 'Security', level: 1 })).toBeVisible();
  await hydrated(page);
  await expect(page.getByRole('img', { name: /QR code/ })).toBeVisible();
  expect(await violations(page)).toEqual([]);
  const secret = await page.locator('code.secret').getAttribute('data-secret');
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);

  // A wrong password is refused next to its field, and what was typed stays.
  const addApp = page.getByRole('region', { name: 'Add an authenticator app' });
  await addApp.getByLabel('Code from the app').fill(totp(secret!));
  await addApp.getByLabel('Name (optional)').fill('Work phone');
  await addApp.getByLabel('Your password').fill('not my password');
  await addApp.getByRole('button', { name: 'Add app' }).click();
  await expect(page.getByRole('alert')).toContainText('Your current password is incorrect');
  await expect(addApp.getByLabel('Name (optional)')).toHaveValue('Work phone');
  await addApp.getByLabel('Code from the app').fill(totp(secret!));
  await addApp.getByLabel('Your password').fill(PASSWORD);
  await addApp.getByRole('button', { name: 'Add app' }).click();

  await expect(page.getByRole('heading', { name: 'Your recovery codes' })).toBeVisible();
  const codes = await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allTextContents();
  expect(codes).toHaveLength(10);
  expect(await violations(page)).toEqual([]);
  await page.getByRole('link', { name: 'I have saved them' }).click();
  await expect(page.getByRole('cell', { name: 'Work phone' })).toBeVisible();
  await expect(page.getByText('10 of 10 unused')).toBeVisible();

  // Password, then the code of the next step (the current one was used to add the app).
  await signOut(page);
  await password(page);
  expect(await violations(page)).toEqual([]);
  await page.getByLabel('Code').fill('000000' === totp(secret!, 1) ? '111111' : '000000');
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('alert')).toContainText('That code is not right');
  await page.getByLabel('Code').fill(totp(secret!, 1));
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('link', { name: 'Your account' })).toBeVisible();

  // A lost phone: a recovery code signs in once.
  await signOut(page);
  await password(page);
  await page.getByLabel('Code').fill(codes[0]);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('link', { name: 'Your account' })).toBeVisible();
  await page.goto('/account/security');
  await expect(page.getByText('9 of 10 unused')).toBeVisible();
  const sessions = page.getByRole('region', { name: 'Where you are signed in' });
  await expect(sessions.getByText('This browser')).toBeVisible();

  // Removing the app asks for the password again; then the password alone signs in.
  await page.getByText('Remove Work phone').click();
  await page.getByLabel('Your password').first().fill(PASSWORD);
  await page.getByRole('button', { name: 'Remove app' }).click();
  await expect(page.getByRole('status')).toContainText('The second factor was removed');
  await signOut(page);
  await signIn(page, EMAIL);
  expect(problems).toEqual([]);
});
