import { test, expect } from '@playwright/test';
import { signIn, violations } from './session';

// An access review of Initech, whose only administrator is Ian Novak: vendor staff decide on his
// access (nobody decides on their own), and he completes the review from the keyboard alone.
test('an administrator completes an access review by keyboard', async ({ page, browser }) => {
  const problems = await signIn(page, 'admin@initech.example');
  await page.goto('/manage');
  // Manage Accounts leads to the reviews.
  await page.getByRole('link', { name: 'Access reviews' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Access reviews');
  expect(await violations(page)).toEqual([]);
  await page.getByRole('button', { name: 'Start a review now' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1 })).toContainText(/Access review \d+ — Initech/);
  const reviewUrl = page.url();
  const own = page.getByRole('row', { name: /^Ian Novak/ });
  await expect(own).toContainText('Nobody decides on their own access');
  await expect(own.getByRole('button')).toHaveCount(0);
  expect(await violations(page)).toEqual([]);

  // Vendor staff see the review under way and keep the sole administrator, with a reason.
  const staffContext = await browser.newContext();
  const staff = await staffContext.newPage();
  await signIn(staff, 'platform.admin@vendor.example');
  await staff.goto('/staff/access-reviews');
  const account = staff.getByRole('row', { name: /Initech/ });
  await expect(account).toContainText('In progress');
  expect(await violations(staff)).toEqual([]);
  await account.getByRole('link', { name: /of/ }).click();
  const ian = staff.getByRole('row', { name: /^Ian Novak/ });
  await ian.getByLabel('Reason (recorded)').fill('Confirmed with Initech by phone');
  await ian.getByRole('button', { name: 'Keep Ian Novak' }).click();
  await expect(staff.getByText('Decision recorded.')).toBeVisible();
  await staffContext.close();

  // The administrator decides on everyone left, by keyboard: Tab to the first "Keep", Enter; after
  // each decision the next person's "Keep" has the focus.
  await page.goto(`${reviewUrl}?undecided=1`);
  let tabs = 0;
  while (!(await page.evaluate(() => document.activeElement?.textContent === 'Keep')) && tabs < 80) {
    await page.keyboard.press('Tab');
    tabs += 1;
  }
  await expect(page.locator(':focus')).toHaveText('Keep');
  for (let left = 0; left < 20; left += 1) {
    const navigated = page.waitForEvent('framenavigated');
    await page.keyboard.press('Enter');
    await navigated;
    await page.waitForLoadState('load');
    if (await page.getByText('The review is complete').isVisible()) break;
    await expect(page.locator(':focus')).toHaveText('Keep');
  }
  await expect(page.getByText('The review is complete')).toBeVisible();
  await expect(page.getByRole('row', { name: /^Ivy Chen/ })).toContainText('Keep — Ian Novak');
  await expect(page.getByRole('row', { name: /^Ian Novak/ })).toContainText('(vendor staff)');

  // The evidence downloads, by keyboard too, and its SHA-256 is on the page.
  await expect(page.locator('code.hash')).toHaveCount(2);
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download PDF report' }).focus();
  await page.keyboard.press('Enter');
  expect((await download).suggestedFilename()).toMatch(/^access-review-\d+\.pdf$/);
  expect(await violations(page)).toEqual([]);
  expect(problems, problems.join('\n')).toEqual([]);
});
