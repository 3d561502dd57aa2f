import { test, expect } from '@playwright/test';
import { linkFromMail } from './mail';
import { signIn } from './session';

test('staff send a security notice to one account; its contact reads it after signing in', async ({ page, browser }) => {
  const problems = await signIn(page, 'agent@vendor.example');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Communications' }).click();
  await page.getByRole('link', { name: 'Compose a security notice' }).click();
  const subject = `Rotate the Gate signing key ${Date.now()}`;
  await page.getByLabel('Subject').fill(subject);
  await page.getByLabel('Severity').selectOption('high');
  await page.getByLabel('Notice', { exact: true }).fill('Rotate the **Gate** signing key before Friday.');
  await page.getByLabel('Chosen accounts').check();
  await page.getByLabel('Initech').check();
  await page.getByRole('button', { name: 'Check recipients' }).click();
  await expect(page.getByRole('heading', { name: 'Will go to 1 person' })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'admin@initech.example' })).toBeVisible();
  await page.getByRole('button', { name: 'Send to 1 recipient' }).click();
  await expect(page.getByText('Sent: 1 mail queued.')).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Sent to 1 person' })).toBeVisible();

  const contactContext = await browser.newContext();
  const contact = await contactContext.newPage();
  problems.push(...(await signIn(contact, 'admin@initech.example')));
  await contact.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Notices' }).click();
  await contact.getByRole('link', { name: subject }).click();
  await expect(contact.getByRole('heading', { level: 1 })).toHaveText(subject);
  await expect(contact.locator('strong', { hasText: 'Gate' })).toBeVisible();
  await expect(contact.getByText('Severity: High')).toBeVisible();
  await contactContext.close();
  expect(problems).toEqual([]);
});

test('a contact answers a survey from the mailed link and the score appears in the staff report', async ({ page, browser }) => {
  const problems = await signIn(page, 'platform.admin@vendor.example');
  await page.goto('/staff/surveys/new');
  const name = `NPS round ${Date.now()}`;
  await page.getByLabel('Name of the round').fill(name);
  await page.getByLabel('Chosen accounts').check();
  await page.getByLabel('Globex').check();
  await page.getByRole('button', { name: 'Check recipients' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(name);
  await expect(page.getByRole('cell', { name: 'admin@globex.example' })).toBeVisible();
  await page.getByRole('button', { name: 'Mail 1 personal link' }).click();
  await expect(page.getByText('Started: 1 personal link mailed.')).toBeVisible();

  // The contact follows the link, without signing in.
  const link = await linkFromMail('admin@globex.example', '/nps?t=');
  const contactContext = await browser.newContext();
  const contact = await contactContext.newPage();
  contact.on('pageerror', (err) => problems.push(err.message));
  await contact.goto(link);
  await expect(contact.getByRole('heading', { level: 1 })).toHaveText('How likely are you to recommend us to a friend or colleague?');
  await contact.getByLabel('9', { exact: true }).check();
  await contact.getByLabel('What is the main reason for your score? (optional)').fill('Quick, competent answers.');
  await contact.getByRole('button', { name: 'Send my answer' }).click();
  await expect(contact.getByRole('heading', { level: 1 })).toHaveText('Thank you');
  // The link works once.
  await contact.goto(link);
  await expect(contact.getByText('This link has been used, so it cannot be used again.')).toBeVisible();
  await contactContext.close();

  await page.reload();
  await expect(page.getByRole('heading', { name: 'Net Promoter Score: +100' })).toBeVisible();
  await expect(page.getByText('1 of 1 answered (100%)')).toBeVisible();
  await expect(page.locator('svg.nps-chart')).toBeVisible();
  await expect(page.getByRole('row', { name: /Globex 1 1 100% \+100/ })).toBeVisible();
  expect(problems).toEqual([]);
});
