// Provisioning from a customer's identity provider, in a real browser: the administrator makes a
// SCIM token (shown once), a provider uses it to add a person, who appears in Manage Accounts;
// when the provider deactivates them, the list shows it; the token is revoked and refused.
import { test, expect } from '@playwright/test';
import { signIn } from './session';

test('an administrator connects their identity provider over SCIM', async ({ page, request }) => {
  const problems = await signIn(page, 'admin@acme.example');
  await page.goto('/manage');
  await page.getByRole('link', { name: 'Provisioning (SCIM)' }).click();
  await expect(page.getByRole('heading', { name: 'Provisioning from your identity provider' })).toBeVisible();
  await page.getByLabel('Name').fill('Entra ID');
  await page.getByRole('button', { name: 'Make token' }).click();
  const token = await page.locator('code[data-token]').getAttribute('data-token');
  expect(token).toMatch(/^scim_/);
  const base = (await page.locator('dd code').first().textContent())!.trim();

  const email = `kim.${Date.now()}@acme.example`;
  const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' };
  const created = await request.post(`${base}/Users`, {
    headers,
    data: { userName: email, name: { givenName: 'Kim', familyName: 'Provisioned' }, emails: [{ value: email, primary: true }] },
  });
  expect(created.status()).toBe(201);
  const id = (await created.json()).id;

  // Shown once: the page no longer has it.
  await page.reload();
  await expect(page.locator('code[data-token]')).toHaveCount(0);
  await expect(page.getByRole('cell', { name: 'Entra ID', exact: true })).toBeVisible();

  await page.goto(`/manage?q=${encodeURIComponent(email)}`);
  const row = page.getByRole('row', { name: new RegExp(email.replace(/\./g, '\\.')) });
  await expect(row).toContainText('Invited');
  const off = await request.patch(`${base}/Users/${id}`, {
    headers,
    data: { Operations: [{ op: 'replace', path: 'active', value: false }] },
  });
  expect(off.status()).toBe(200);
  await page.reload();
  await expect(row).toContainText('Disabled');

  await page.goto('/manage/provisioning');
  await page.getByRole('button', { name: 'Revoke Entra ID' }).first().click();
  await expect(page.getByRole('status')).toContainText('The token was revoked');
  expect((await request.get(`${base}/Users`, { headers })).status()).toBe(401);
  expect(problems).toEqual([]);
});
