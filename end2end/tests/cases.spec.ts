import { test, expect } from '@playwright/test';
import { fillCaseForm } from './session';

const PASSWORD = 'Portcullis-Demo-2026';

test('a customer files a case after the availability refusal; an agent works it, the customer replies and accepts the resolution', async ({ page, browser }) => {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto('/');
  await page.getByLabel('Email address').fill('user@acme.example');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Cases' }).click();
  await page.getByRole('link', { name: 'Open a case' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Open a case');

  await fillCaseForm(page, 'Canary stage never finishes', 'Every canary analysis in Staging waits forever since the upgrade.');
  await page.getByRole('button', { name: 'Open case' }).click();

  // No availability chosen: refused, said at the top and at the field; what was typed is kept.
  await expect(page.getByRole('alert')).toContainText('There is no default');
  await expect(page.locator('#availability_id-error')).toContainText('Choose when we can reach you');
  await expect(page.getByLabel('Subject')).toHaveValue('Canary stage never finishes');

  await page.getByLabel('Customer availability').selectOption({ index: 1 });
  await page.getByRole('button', { name: 'Open case' }).click();
  await expect(page.getByRole('status')).toContainText('Your case was opened');
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Canary stage never finishes');
  await expect(page.getByRole('heading', { level: 1 })).toContainText(/CS\d{7}/);

  await page.getByLabel('Add a comment').fill('It also happens in Development.');
  await page.getByRole('button', { name: 'Send comment' }).click();
  await expect(page.getByText('It also happens in Development.')).toBeVisible();
  const caseUrl = page.url().replace(/#.*$/, '');
  const number = (await page.getByRole('heading', { level: 1 }).textContent())!.match(/CS\d{7}/)![0];

  // An agent picks it up from the unassigned queue and asks for information.
  const staffContext = await browser.newContext();
  const agent = await staffContext.newPage();
  agent.on('pageerror', (err) => problems.push(err.message));
  await agent.goto('/');
  await agent.getByLabel('Email address').fill('agent@vendor.example');
  await agent.getByLabel('Password').fill(PASSWORD);
  await agent.getByRole('button', { name: 'Sign in' }).click();
  await agent.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Case queues' }).click();
  await agent.getByRole('link', { name: number }).click();
  await agent.getByText('Assignment and priority').click();
  await agent.getByLabel('Assigned to').selectOption('me');
  await agent.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(agent.getByText('Assigned to: nobody → Alex Lindqvist')).toBeVisible();
  await agent.locator('summary', { hasText: 'Start work' }).click();
  await agent.locator('details[open]').getByRole('button', { name: 'Start work' }).click();
  await agent.locator('summary', { hasText: 'Ask the customer for information' }).click();
  await agent.locator('details[open]').getByLabel('Message to the customer').fill('Which Orca version do you run?');
  await agent.locator('details[open]').getByRole('button', { name: 'Ask the customer for information' }).click();
  await expect(agent.getByText('State: Open → Awaiting info')).toBeVisible();

  // The customer replies; the case is open again.
  await page.goto(caseUrl);
  await expect(page.getByText('Which Orca version do you run?')).toBeVisible();
  await page.getByLabel('Add a comment').fill('Orca 8.42.');
  await page.getByRole('button', { name: 'Send comment' }).click();
  await expect(page.getByText('State: Awaiting info → Open')).toBeVisible();

  // The agent resolves; the customer accepts.
  await agent.reload();
  await agent.locator('summary', { hasText: 'Propose a resolution' }).click();
  await agent.locator('details[open]').getByLabel('Message to the customer').fill('Upgrade Orca to 8.43, which fixes the canary wait.');
  await agent.locator('details[open]').getByRole('button', { name: 'Propose a resolution' }).click();
  await expect(agent.getByText('State: Open → Resolved')).toBeVisible();
  await page.reload();
  await page.locator('summary', { hasText: 'Accept the resolution and close' }).click();
  await page.locator('details[open]').getByRole('button', { name: 'Accept the resolution and close' }).click();
  await expect(page.getByText('State: Resolved → Closed')).toBeVisible();
  await expect(page.getByLabel('Add a comment')).toHaveCount(0);
  await staffContext.close();
  expect(problems, problems.join('\n')).toEqual([]);
});
