// Who hears about a case by mail, in a real browser: the contact adds a colleague of their own
// account from the case page, stops following and follows again; the colleague sees the case's
// mails are theirs; the panel passes axe.
import { test, expect } from '@playwright/test';
import { fillCaseForm, hydrated, signIn, violations } from './session';

test('a contact adds a colleague to a case\'s mails and stops following it', async ({ page, browser }) => {
  const problems = await signIn(page, 'user@acme.example');
  await page.goto('/cases/new');
  await hydrated(page);
  const subject = `Colleagues should hear about this ${Date.now()}`;
  await fillCaseForm(page, subject, 'Canary analysis never ends; my team lead wants the updates.');
  await page.getByLabel('Customer availability').selectOption({ index: 1 });
  await page.getByRole('button', { name: 'Open case' }).click();
  await expect(page.getByRole('status')).toContainText('Your case was opened');

  const panel = page.getByRole('region', { name: 'Mail about this case' });
  await expect(panel.getByRole('listitem')).toHaveCount(1);
  await expect(panel.getByRole('listitem')).toContainText('Uma Brandt (contact)');
  await panel.getByLabel('Add a colleague').selectOption({ label: 'Sam Ito' });
  await panel.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(panel.getByRole('listitem')).toHaveCount(2);
  await expect(panel.getByRole('button', { name: 'Stop mailing Sam Ito' })).toBeVisible();
  expect(await violations(page)).toEqual([]);

  await panel.getByRole('button', { name: 'Stop getting this case\'s mails' }).click();
  await expect(panel.getByRole('listitem')).toHaveCount(1);
  await expect(panel.getByRole('listitem')).toContainText('Sam Ito');
  await panel.getByRole('button', { name: 'Get this case\'s mails' }).click();
  await expect(panel.getByRole('listitem')).toHaveCount(2);
  const url = page.url();

  // The colleague sees they follow the case, and may stop.
  const colleague = await (await browser.newContext()).newPage();
  await signIn(colleague, 'secondary@acme.example');
  await colleague.goto(url);
  const theirs = colleague.getByRole('region', { name: 'Mail about this case' });
  await expect(theirs.getByRole('button', { name: 'Stop getting this case\'s mails' })).toBeVisible();
  expect(problems).toEqual([]);
});
