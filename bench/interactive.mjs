// Bytes a page makes the browser download, and how long until it is interactive, measured in
// Chromium with the CPU slowed four times (as on a modest laptop on battery).
//
//   PORTCULLIS_E2E_BASE_URL=http://127.0.0.1:3000 node bench/interactive.mjs
//
// Run from the repository with end2end's packages installed, against a release build with the
// demo data. "Interactive" is when the page's loader has hydrated its islands, or found nothing to
// load (it marks `<html data-hydrated>`);
// each page is loaded cold (empty cache) five times and the medians are printed: when the HTML had
// arrived and when the page was interactive, from the start of the navigation on the page's own
// clock, and the difference (what the browser half costs after the HTML).
import { createRequire } from 'node:module';
const require = createRequire(new URL('../end2end/package.json', import.meta.url));
const { chromium } = require('@playwright/test');

const base = process.env.PORTCULLIS_E2E_BASE_URL ?? 'http://127.0.0.1:3000';
const PASSWORD = 'Portcullis-Demo-2026';
const pages = [
  { name: 'sign-in (visitor)', path: '/', who: null },
  { name: 'KB home (visitor)', path: '/kb', who: null },
  { name: 'case form (customer)', path: '/cases/new', who: 'user@acme.example' },
  { name: 'case list (customer)', path: '/cases', who: 'user@acme.example' },
  { name: 'security (customer)', path: '/account/security', who: 'user@acme.example' },
  { name: 'home (agent)', path: '/', who: 'agent@vendor.example' },
  { name: 'queue (agent)', path: '/staff/cases', who: 'agent@vendor.example' },
  { name: 'KB editor (agent)', path: '/staff/kb/new', who: 'agent@vendor.example' },
];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-quic'],
});
console.log('| page | JS + WASM (compressed, as sent) | HTML | HTML received | interactive | after the HTML |');
console.log('|---|---|---|---|---|---|');
for (const p of pages) {
  const times = [];
  const received = [];
  const after = [];
  let code = 0;
  let html = 0;
  for (let run = 0; run < 5; run++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    if (p.who) {
      await page.goto(`${base}/`);
      await page.getByLabel('Email address').fill(p.who);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('navigation', { name: 'Main' }).waitFor();
    }
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    const sizes = new Map();
    cdp.on('Network.responseReceived', (e) => sizes.set(e.requestId, { url: e.response.url, bytes: 0 }));
    cdp.on('Network.loadingFinished', (e) => {
      const s = sizes.get(e.requestId);
      if (s) s.bytes = e.encodedDataLength;
    });
    // The moment the page marks itself interactive, on the page's own clock (from the start of
    // its navigation), and when its HTML had arrived.
    await page.addInitScript(() => {
      new MutationObserver(() => {
        if (document.documentElement?.hasAttribute('data-hydrated') && !window.__interactiveAt) {
          window.__interactiveAt = performance.now();
        }
      }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-hydrated'] });
    });
    await page.goto(`${base}${p.path}`);
    await page.locator('html[data-hydrated]').waitFor({ state: 'attached', timeout: 60_000 });
    const t = await page.evaluate(() => ({
      interactive: window.__interactiveAt,
      html: performance.getEntriesByType('navigation')[0].responseEnd,
    }));
    times.push(t.interactive);
    received.push(t.html);
    after.push(t.interactive - t.html);
    await page.waitForLoadState('networkidle');
    code = 0;
    html = 0;
    for (const { url, bytes } of sizes.values()) {
      if (/\.(js|wasm)$/.test(url)) code += bytes;
      else if (url.startsWith(`${base}${p.path}`)) html += bytes;
    }
    await context.close();
  }
  const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
  const ms = (xs) => `${median(xs).toFixed(0)} ms`;
  console.log(`| ${p.name} | ${kb(code)} | ${kb(html)} | ${ms(received)} | ${ms(times)} | ${ms(after)} |`);
}
await browser.close();
