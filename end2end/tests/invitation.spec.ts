import { test, expect, Page } from '@playwright/test';
import { linkFromMail } from './mail';

const PASSWORD = 'Portcullis-Demo-2026';

async function signIn(page: Page, email: string) {
  await page.goto('/');
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Welcome');
}

test('an administrator invites a user, who sets a password from the mail and is thrown out when disabled', async ({ page, browser }) => {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await signIn(page, 'admin@acme.example');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Manage Accounts' }).click();
  await page.getByRole('link', { name: 'Add a user' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Add a user');

  // Bad input first: errors at the top and at the field, nothing created.
  await page.getByLabel('First name').fill('Nia');
  await page.getByLabel('Email address').fill('not-an-email');
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await expect(page.getByRole('alert')).toContainText('Enter the last name');
  await expect(page.locator('#email-error')).toContainText('correct format');

  await page.getByLabel('First name').fill('Nia');
  await page.getByLabel('Last name').fill('Okonkwo');
  await page.getByLabel('Email address').fill('nia.okonkwo@acme.example');
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await expect(page.getByRole('status')).toContainText('The invitation is on its way');
  const row = page.getByRole('row', { name: /nia\.okonkwo@acme\.example/ });
  await expect(row.getByText('Invited', { exact: true })).toBeVisible();

  // The new user opens the mailed link in their own browser.
  const link = await linkFromMail('nia.okonkwo@acme.example', '/accept?token=');
  const theirs = await browser.newContext();
  const newcomer = await theirs.newPage();
  newcomer.on('pageerror', (err) => problems.push(err.message));
  await newcomer.goto(link);
  await expect(newcomer.getByRole('heading', { level: 1 })).toHaveText('Welcome');
  await expect(newcomer.getByText('nia.okonkwo@acme.example')).toBeVisible();
  await newcomer.getByLabel('New password', { exact: true }).fill('Kestrel-Orchard-Violin-83');
  await newcomer.getByLabel('Confirm new password').fill('Kestrel-Orchard-Violin-83');
  await newcomer.getByRole('button', { name: 'Set password and sign in' }).click();
  await expect(newcomer.getByRole('heading', { level: 1 })).toHaveText('Welcome, Nia Okonkwo');

  // The link does not work a second time.
  const again = await (await browser.newContext()).newPage();
  await again.goto(link);
  await expect(again.getByRole('heading', { level: 1 })).toHaveText('This link does not work');
  await expect(again.getByRole('alert')).toContainText('already been used');

  // The administrator disables them; their open session is thrown out.
  await page.reload();
  await expect(row.getByText('Active', { exact: true })).toBeVisible();
  await row.getByText('Disable Nia Okonkwo', { exact: true }).click();
  await row.getByRole('button', { name: 'Yes, disable Nia Okonkwo' }).click();
  await expect(row.getByText('Disabled', { exact: true })).toBeVisible();
  await newcomer.reload();
  await expect(newcomer.getByRole('heading', { level: 1 })).toHaveText('Sign in to Portcullis');
  await theirs.close();

  // The account's history shows it all.
  await page.getByRole('link', { name: 'Access history' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Access history');
  // Each action in words, with its stored name beside it.
  for (const [words, action] of [['User invited', 'user.invited'], ['User activated', 'user.activated'], ['User disabled', 'user.disabled']]) {
    await expect(page.getByRole('cell', { name: words }).first()).toBeVisible();
    await expect(page.getByText(action, { exact: true }).first()).toBeVisible();
  }
  expect(problems, problems.join('\n')).toEqual([]);
});

test('a platform admin sets a primary contact, then impersonates them to see Manage Accounts', async ({ page }) => {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await signIn(page, 'platform.admin@vendor.example');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Staff console' }).click();
  await page.getByRole('link', { name: 'Globex' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Globex');

  const row = page.getByRole('row', { name: /user@globex\.example/ });
  await row.getByText('Make Gus Adeyemi the primary contact', { exact: true }).click();
  const form = row.locator('details[open]');
  await expect(form.getByText('Gus Adeyemi becomes an administrator')).toBeVisible();
  await expect(form.getByText('Should Grace Hollis, the current primary contact, stay an administrator?')).toBeVisible();
  await form.getByLabel('Yes, keep administrator rights').check();
  await form.getByLabel('Reason (recorded in the audit trail)').fill('Customer named a new primary contact');
  await form.getByLabel('Case number (optional, like CS0001234)').fill('CS0004711');
  await form.getByRole('button', { name: 'Yes, make gus adeyemi the primary contact' }).click();
  await expect(page.getByRole('status')).toContainText('Gus Adeyemi is now the primary contact and was made an administrator. Grace Hollis stays an administrator.');

  // Impersonate the new contact: they now reach Manage Accounts.
  const contactRow = page.getByRole('row', { name: /user@globex\.example/ });
  await contactRow.getByText('Impersonate Gus Adeyemi', { exact: true }).click();
  await contactRow.locator('details[open]').getByLabel('Reason (recorded in the audit trail)').fill('Check that the new administrator can reach Manage Accounts');
  await contactRow.getByRole('button', { name: 'Yes, impersonate Gus Adeyemi' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'You are viewing the portal as Gus Adeyemi' })).toContainText('Signed in as Pat Okafor');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Manage Accounts' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Manage Accounts');
  await expect(page.getByRole('row', { name: /user@globex\.example/ }).getByText('Primary')).toBeVisible();
  await expect(page.getByText('You are viewing the portal as Gus Adeyemi')).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'You are viewing the portal as' })).toContainText('View only');
  // Impersonation only shows: a change in their name is refused, and the page says where to make it.
  await page.getByRole('link', { name: 'Add a user' }).click();
  await page.getByLabel('First name').fill('Ivy');
  await page.getByLabel('Last name').fill('Ng');
  await page.getByLabel('Email address').fill('ivy.ng@globex.example');
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await expect(page.getByRole('alert')).toContainText('Impersonation is view-only');
  await expect(page.getByRole('alert')).toContainText('staff console');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Manage Accounts' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Manage Accounts');
  await expect(page.getByRole('row', { name: /ivy\.ng@globex\.example/ })).toHaveCount(0);
  await page.getByRole('button', { name: 'Stop impersonating' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Staff console');
  await expect(page.getByText('You are viewing the portal as')).toHaveCount(0);
  expect(problems, problems.join('\n')).toEqual([]);
});
