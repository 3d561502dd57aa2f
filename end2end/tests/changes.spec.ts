import { test, expect, type Page } from '@playwright/test';
import { linkFromMail } from './mail';
import { fillChange, local, signIn } from './session';

/** Opens the step form `label` on a change request page and submits it. */
async function takeStep(page: Page, label: string) {
  await page.locator('summary', { hasText: label }).click();
  await page.locator('details[open]').getByRole('button', { name: label }).click();
}

test('a platform admin raises a change on behalf of an account, its administrator authorizes it from the mail, staff carry it to Closed', async ({ page, browser }) => {
  const problems = await signIn(page, 'platform.admin@vendor.example');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Staff console' }).click();
  await page.getByRole('link', { name: 'Acme Corporation' }).click();
  await page.getByRole('link', { name: 'Raise a change request on their behalf' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText("Raise a change request on the account's behalf");
  await page.getByLabel('Requested by').selectOption({ index: 1 });
  const short = `More Clouddriver replicas ${Date.now()}`;
  await fillChange(page, short);
  await page.getByLabel('Administrator asked to authorize').selectOption({ label: 'Ada Moreno (admin@acme.example)' });
  await page.getByRole('button', { name: 'Raise change request' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText(short);
  await expect(page.getByText('Awaiting authorization by Ada Moreno')).toBeVisible();
  const number = (await page.getByRole('heading', { level: 1 }).textContent())!.match(/CHG\d{7}/)![0];
  // Staff cannot move it before the authorization: no step is offered.
  await expect(page.getByRole('heading', { name: 'Move the change request' })).toHaveCount(0);

  // The administrator follows the mailed link, signs in, reads it and authorizes it.
  const link = await linkFromMail('admin@acme.example', `/changes/${number}`);
  const customerContext = await browser.newContext();
  const admin = await customerContext.newPage();
  problems.push(...(await signIn(admin, 'admin@acme.example')));
  await admin.goto(link);
  await expect(admin.getByRole('heading', { level: 1 })).toContainText(short);
  await takeStep(admin, 'Authorize this change');
  await expect(admin.getByText('I am authorized to request this change for Acme Corporation.')).toBeVisible();
  await expect(admin.locator('.lead .badge')).toHaveText('New');
  await customerContext.close();

  // Staff carry it through.
  await page.reload();
  await takeStep(page, 'Start assessment');
  await expect(page.locator('.lead .badge')).toHaveText('Assess');
  await page.locator('summary', { hasText: 'Schedule' }).click();
  await page.locator('details[open]').getByLabel('Work starts').fill(local(2));
  await page.locator('details[open]').getByLabel('Work ends').fill(local(3));
  await page.locator('details[open]').getByRole('button', { name: 'Schedule' }).click();
  await expect(page.locator('.lead .badge')).toHaveText('Scheduled');
  await takeStep(page, 'Start implementation');
  await takeStep(page, 'Move to review');
  await takeStep(page, 'Close');
  await expect(page.locator('.lead .badge')).toHaveText('Closed');
  await expect(page.getByText('Review → Closed')).toBeVisible();
  expect(problems).toEqual([]);
});

test('a customer files a change request by mistake and staff convert it into a case', async ({ page, browser }) => {
  const problems = await signIn(page, 'user@acme.example');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Change requests' }).click();
  await page.getByRole('link', { name: 'Request a change' }).click();
  const short = `Canary stage hangs ${Date.now()}`;
  await fillChange(page, short);
  // Without the authorization statement: refused and told why.
  await page.getByRole('button', { name: 'Submit change request' }).click();
  await expect(page.getByRole('alert')).toContainText('I am authorized to request this change for Acme Corporation');
  await page.getByLabel('I am authorized to request this change for Acme Corporation.').check();
  await page.getByRole('button', { name: 'Submit change request' }).click();
  await expect(page.getByRole('status')).toContainText('Your change request was filed');
  const number = (await page.getByRole('heading', { level: 1 }).textContent())!.match(/CHG\d{7}/)![0];

  const staffContext = await browser.newContext();
  const agent = await staffContext.newPage();
  problems.push(...(await signIn(agent, 'agent@vendor.example')));
  await agent.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Change requests' }).click();
  await agent.getByRole('link', { name: number }).click();
  await agent.locator('summary', { hasText: 'Convert into a case' }).click();
  const form = agent.locator('details[open]');
  await form.getByLabel('Product version').selectOption('2.34');
  await form.getByLabel('Impact').selectOption('Production degraded');
  await form.getByLabel('Workaround or rollback available').selectOption('No');
  await form.getByLabel('Feature').selectOption('Canary Analysis');
  await form.getByLabel('Service').selectOption('Orca');
  await form.getByLabel('Customer availability').selectOption({ index: 1 });
  await form.getByRole('button', { name: 'Convert into a case' }).click();
  await expect(agent.getByRole('heading', { level: 1 })).toContainText(short);
  await expect(agent.getByRole('heading', { level: 1 })).toContainText(/CS\d{7}/);
  await expect(agent.getByRole('link', { name: number })).toBeVisible();
  await staffContext.close();

  // The customer sees the request cancelled and pointing at the case.
  await page.reload();
  await expect(page.locator('.lead .badge')).toHaveText('Cancelled');
  await expect(page.locator('.lead')).toContainText('Converted into case');
  expect(problems).toEqual([]);
});
