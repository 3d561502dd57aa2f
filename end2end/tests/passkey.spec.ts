// A passkey in a real browser: Chromium's virtual authenticator (DevTools protocol) stands in for
// a phone or a security key. A customer adds a passkey on their security page (password asked
// again), signs in with password and passkey, then removes it; the pages pass axe.
// Passkeys need the portal reached by a name: the test script serves it as http://localhost.
import { test, expect, type Page } from '@playwright/test';
import { PASSWORD, hydrated, signIn, violations } from './session';

const EMAIL = 'secondary@acme.example';

async function signOut(page: Page) {
  await page.getByRole('button', { name: 'Sign out' }).first().click();
  await expect(page.getByRole('heading', { name: 'Sign in to Portcullis' })).toBeVisible();
}

test('a customer adds a passkey and signs in with it', async ({ page }) => {
  const devtools = await page.context().newCDPSession(page);
  await devtools.send('WebAuthn.enable');
  const { authenticatorId } = await devtools.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  const stored = async () =>
    (await devtools.send('WebAuthn.getCredentials', { authenticatorId })).credentials;

  const problems = await signIn(page, EMAIL);
  await page.goto('/account/security');
  await hydrated(page);
  const section = page.getByRole('region', { name: 'Add a passkey or security key' });

  // A wrong password is refused next to its field before the authenticator is asked anything.
  await section.getByLabel('Name (optional)').fill('Office laptop');
  await section.getByLabel('Your password').fill('not my password');
  await section.getByRole('button', { name: 'Add passkey' }).click();
  await expect(section.getByRole('alert')).toContainText('Your current password is incorrect');
  await expect(section.getByLabel('Your password')).toHaveAttribute('aria-invalid', 'true');
  await expect(section.getByLabel('Name (optional)')).toHaveValue('Office laptop');
  expect(await stored()).toHaveLength(0);
  expect(await violations(page)).toEqual([]);

  await section.getByLabel('Your password').fill(PASSWORD);
  await section.getByRole('button', { name: 'Add passkey' }).click();
  await expect(page.getByRole('heading', { name: 'Your recovery codes' })).toBeVisible();
  expect(await stored()).toHaveLength(1);
  await page.getByRole('link', { name: 'I have saved them' }).click();
  await expect(page.getByRole('cell', { name: 'Office laptop' })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'Passkey or security key' })).toBeVisible();

  // Password, then the passkey.
  await signOut(page);
  await page.getByLabel('Email address').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Confirm it is you' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Your account' })).toHaveCount(0);
  await hydrated(page);
  expect(await violations(page)).toEqual([]);
  const before = (await stored())[0].signCount;
  await page.getByRole('button', { name: 'Use your passkey' }).click();
  await expect(page.getByRole('link', { name: 'Your account' })).toBeVisible();
  expect((await stored())[0].signCount).toBeGreaterThan(before);

  // Removing it asks for the password again; then the password alone signs in.
  await page.goto('/account/security');
  await page.getByText('Remove Office laptop').click();
  await page.getByLabel('Your password').first().fill(PASSWORD);
  await page.getByRole('button', { name: 'Remove passkey' }).click();
  await expect(page.getByRole('status')).toContainText('The second factor was removed');
  await signOut(page);
  await signIn(page, EMAIL);
  expect(problems).toEqual([]);
});
