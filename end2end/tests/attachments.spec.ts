// Attachments in a real browser: files dropped on the case form and a screenshot pasted into its
// description arrive with the case; a staff note's file never reaches the customer's page; the
// case page's "Add files" form works without script.
import { test, expect } from '@playwright/test';
import { fillCaseForm, fillChange, hydrated, signIn, violations } from './session';

// A 1×1 PNG.
const PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

test('files dropped on the case form and a pasted screenshot arrive with the case', async ({ page }) => {
  const problems = await signIn(page, 'user@acme.example');
  await page.goto('/cases/new');
  await hydrated(page);
  const subject = `Deploys hang at the canary stage ${Date.now()}`;
  await fillCaseForm(page, subject, 'The canary stage never finishes. Screenshot: ');
  await page.getByLabel('Customer availability').selectOption({ index: 1 });

  // Drag and drop a log file onto the form.
  const drop = await page.evaluateHandle(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['2026-12-06 ERROR canary stalled\n'], 'canary.log', { type: 'text/plain' }));
    return dt;
  });
  await page.locator('form').filter({ has: page.getByLabel('Subject') }).dispatchEvent('drop', { dataTransfer: drop });
  const uploads = page.locator('[data-stage] ul.uploads');
  await expect(uploads).toContainText('canary.log');
  await expect(uploads.locator('li').filter({ hasText: 'canary.log' })).toContainText('attached');

  // Paste a screenshot into the description: it uploads and goes into the text.
  const description = page.getByLabel('Description');
  await description.focus();
  await description.press('End');
  await page.evaluate((png) => {
    const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'screenshot.png', { type: 'image/png' }));
    const area = document.querySelector('textarea[name=description]') as HTMLTextAreaElement;
    area.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, PNG_BASE64);
  await expect(uploads.locator('li').filter({ hasText: 'screenshot.png' })).toContainText('attached');
  await expect(description).toHaveValue(/!\[screenshot\.png\]\(\/attachments\/[\w-]+\/screenshot\.png\)/);

  await page.getByRole('button', { name: 'Open case' }).click();
  await expect(page.getByRole('status')).toContainText('Your case was opened');
  const files = page.getByRole('list', { name: 'Attached files' });
  await expect(files.getByRole('link', { name: 'canary.log' })).toBeVisible();
  await expect(files.getByRole('link', { name: 'screenshot.png' })).toBeVisible();
  // The pasted screenshot shows in the description, loaded from the portal's own file address.
  const image = page.locator('.case-text img[src^="/attachments/"]');
  await expect(image).toHaveCount(1);
  await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1);
  expect(problems, problems.join('\n')).toEqual([]);
});

test("a staff note's file never reaches the customer's page", async ({ browser }) => {
  // The customer opens a case.
  const customer = await (await browser.newContext()).newPage();
  const problems = await signIn(customer, 'user@acme.example');
  await customer.goto('/cases/new');
  await hydrated(customer);
  const subject = `Metrics missing after restart ${Date.now()}`;
  await fillCaseForm(customer, subject, 'No metrics since the restart.');
  await customer.getByLabel('Customer availability').selectOption({ index: 1 });
  await customer.getByRole('button', { name: 'Open case' }).click();
  await expect(customer.getByRole('status')).toContainText('Your case was opened');
  const caseUrl = customer.url().split('?')[0];

  // The agent saves an internal note with a file chosen in its picker.
  const agent = await (await browser.newContext()).newPage();
  problems.push(...(await signIn(agent, 'agent@vendor.example')));
  await agent.goto(caseUrl);
  await hydrated(agent);
  await agent.getByLabel('Reply or internal note').fill('Heap dump from the customer host attached.');
  await agent.getByLabel('Attach files (optional)').setInputFiles({
    name: 'heap-dump-internal.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('vendor-only diagnostics'),
  });
  await expect(agent.locator('[data-stage] li').filter({ hasText: 'heap-dump-internal.txt' })).toContainText('attached');
  await agent.getByRole('button', { name: 'Save internal note' }).click();
  await expect(agent.getByRole('link', { name: 'heap-dump-internal.txt' })).toBeVisible();
  await expect(agent.locator('.files__item').filter({ hasText: 'heap-dump-internal.txt' })).toContainText('Staff only');
  // A case page with files, its remove control open, has nothing axe-core finds.
  await agent.locator('.files__remove summary').first().click();
  expect(await violations(agent)).toEqual([]);

  await customer.goto(caseUrl);
  await expect(customer.getByRole('heading', { level: 1 })).toContainText(subject);
  await expect(customer.getByText('heap-dump-internal.txt')).toHaveCount(0);
  expect(await customer.content()).not.toContain('heap-dump-internal');
  expect(problems, problems.join('\n')).toEqual([]);
});

test('a change request takes files on its form and on its page, each upload with its progress', async ({ page }) => {
  const problems = await signIn(page, 'user@acme.example');
  await page.goto('/changes/new');
  await hydrated(page);
  const short = `Rotate the signing keys ${Date.now()}`;
  await fillChange(page, short);
  await page.getByLabel('Attach files (optional)').setInputFiles({
    name: 'rotation-runbook.md',
    mimeType: 'text/markdown',
    buffer: Buffer.from('# Rotation\n1. Generate\n2. Swap\n'),
  });
  await expect(page.locator('[data-stage] li').filter({ hasText: 'rotation-runbook.md' })).toContainText('attached');
  // A file over the limit is refused before a byte is sent.
  await page.locator('[data-stage]').evaluate((el) => el.setAttribute('data-max', '10'));
  await page.getByLabel('Attach files (optional)').setInputFiles({
    name: 'too-big.log', mimeType: 'text/plain', buffer: Buffer.from('more than ten bytes'),
  });
  await expect(page.locator('[data-stage] li').filter({ hasText: 'too-big.log' })).toContainText('is larger than');
  // Sent without the authorization: refused, and the form comes back with the file still on it.
  await page.getByRole('button', { name: 'Submit change request' }).click();
  await expect(page.getByRole('alert')).toContainText('There is a problem');
  await expect(page.getByLabel('Short description')).toHaveValue(short);
  await hydrated(page);
  const kept = page.locator('[data-stage] li').filter({ hasText: 'rotation-runbook.md' });
  await expect(kept).toContainText('attached');
  await expect(kept.getByRole('button', { name: 'Remove rotation-runbook.md' })).toBeVisible();
  await page.getByLabel('I am authorized to request this change for Acme Corporation.').check();
  await page.getByRole('button', { name: 'Submit change request' }).click();
  await expect(page.getByRole('status')).toContainText('Your change request was filed');
  const files = page.getByRole('list', { name: 'Attached files' });
  await expect(files.getByRole('link', { name: 'rotation-runbook.md' })).toBeVisible();
  await expect(page.getByText('too-big.log')).toHaveCount(0);

  // "Add files" on the page: with script each file goes with a progress bar, then the page shows them.
  await hydrated(page);
  await page.getByLabel('Files', { exact: true }).setInputFiles([
    { name: 'current-keys.txt', mimeType: 'text/plain', buffer: Buffer.from('key ids: 1, 2') },
    { name: 'topology.png', mimeType: 'image/png', buffer: Buffer.from(PNG_BASE64, 'base64') },
  ]);
  await page.getByRole('button', { name: 'Upload files' }).click();
  await expect(files.getByRole('link', { name: 'current-keys.txt' })).toBeVisible();
  await expect(files.getByRole('link', { name: 'topology.png' })).toBeVisible();
  await expect(page.getByText(/Attached 2 files|Attached current-keys\.txt/).first()).toBeVisible();
  expect(problems, problems.join('\n')).toEqual([]);
});

test.describe('without script', () => {
  test.use({ javaScriptEnabled: false });

  test('the case page adds files through a plain form and says when one is refused', async ({ page }) => {
    await page.goto('/');
    await page.getByLabel('Email address').fill('user@acme.example');
    await page.getByLabel('Password').fill('Portcullis-Demo-2026');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.goto('/cases/new');
    await fillCaseForm(page, `Exports fail at midnight ${Date.now()}`, 'The nightly export stops.');
    await page.getByLabel('Customer availability').selectOption({ index: 1 });
    await page.getByRole('button', { name: 'Open case' }).click();
    await expect(page.getByRole('status')).toContainText('Your case was opened');
    const number = (await page.getByRole('heading', { level: 1 }).textContent())!.split(' ')[0];
    // Nothing chosen: the problem is told beside the field.
    await page.getByRole('button', { name: 'Upload files' }).click();
    await expect(page.getByRole('alert')).toContainText('Choose a file to attach');
    await page.getByLabel('Files', { exact: true }).setInputFiles([
      { name: 'config-export.yaml', mimeType: 'text/yaml', buffer: Buffer.from('pipelines: 12\n') },
      { name: 'orca.log', mimeType: 'text/plain', buffer: Buffer.from('INFO started\n') },
    ]);
    await page.getByRole('button', { name: 'Upload files' }).click();
    await expect(page).toHaveURL(new RegExp(`/cases/${number}#files$`));
    const files = page.getByRole('list', { name: 'Attached files' }).last();
    await expect(files.getByRole('link', { name: 'config-export.yaml' })).toBeVisible();
    await expect(files.getByRole('link', { name: 'orca.log' })).toBeVisible();
    await expect(page.getByText(/Attached 2 files: config-export\.yaml/)).toBeVisible();
    // The staging areas need script and stay hidden without it.
    await expect(page.getByLabel('Attach files (optional)')).toBeHidden();
  });
});
