import { test, expect } from '@playwright/test';
import { signIn } from './session';

test('a platform admin uploads a list with good, duplicate and invalid rows, checks the preview and creates the users', async ({ page }) => {
  const problems = await signIn(page, 'platform.admin@vendor.example');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Staff console' }).click();
  await page.getByRole('link', { name: 'Initech' }).click();
  await page.getByRole('link', { name: 'Bulk add users (CSV)' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Bulk add users');

  const csv = [
    'first_name,last_name,email,administrator',
    'Milton,Waddams,milton.waddams@initech.example,no',
    'Joanna,Ruiz,joanna.ruiz@initech.example,yes',
    'Ivy,Chen,user@initech.example,',
    'Bill,Lumbergh,bill-at-initech,',
  ].join('\n');
  await page.getByLabel('CSV file').setInputFiles({ name: 'initech.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByRole('button', { name: 'Upload and check' }).click();

  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Bulk import: initech.csv');
  await expect(page.getByText('Preview: nothing has been created yet.')).toBeVisible();
  await expect(page.getByRole('row', { name: /milton\.waddams@initech\.example/ })).toContainText('Will be created');
  await expect(page.getByRole('row', { name: /user@initech\.example/ })).toContainText('Already exists: skipped');
  await expect(page.getByRole('row', { name: /bill-at-initech/ })).toContainText('correct format');

  // Without a reason the confirmation is refused, next to the field.
  await page.getByRole('button', { name: 'Create users' }).click();
  await expect(page.getByRole('alert')).toContainText('Enter the reason for this change');
  await page.getByLabel('Reason (recorded in the audit trail)').fill('List sent by Initech');
  await page.getByRole('button', { name: 'Create users' }).click();
  await expect(page.getByText('Finished: 2 users created and invited.')).toBeVisible({ timeout: 20_000 });

  await page.getByRole('link', { name: '← Initech' }).click();
  await expect(page.getByRole('row', { name: /joanna\.ruiz@initech\.example/ })).toContainText('Invited');
  expect(problems, problems.join('\n')).toEqual([]);
});
