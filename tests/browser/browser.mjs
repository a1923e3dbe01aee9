// A person's path through storegate's two self-documenting pages, in real
// headless Chromium: Swagger UI (authorize with a bearer token, run one
// request) and GraphiQL (run a query, see the result). Every request to
// anything but the server under test is blocked, so the pages must work
// air-gapped. Screenshots go to SCREENSHOT_DIR.
//
//   BASE_URL=http://127.0.0.1:8080 node browser.mjs
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const base = process.env.BASE_URL ?? 'http://127.0.0.1:8080';
const shots = process.env.SCREENSHOT_DIR ?? '../../target/browser-screenshots';
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
mkdirSync(shots, { recursive: true });

async function json(path, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(base + path, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json().catch(() => null) };
}

// A user with a token, and a store so the pages have something to show.
const email = `browser-${Date.now()}@example.com`;
const password = 'browser test password';
await json('/api/auth/signup', { email, password });
const login = await json('/api/auth/login', { email, password });
if (login.status !== 200) throw new Error(`login failed: ${JSON.stringify(login)}`);
const token = login.body.access_token;
await json('/api/stores', { name: `Browser Store ${Date.now()}` }, token);

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const blocked = [];
const failures = [];
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const origin = new URL(base).origin;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('pageerror', (error) => failures.push(`page error: ${error.message}`));

  // --- Swagger UI: authorize, then run GET /api/auth/me.
  await page.goto(`${base}/api/docs/`, { waitUntil: 'networkidle' });
  await page.locator('.swagger-ui .info .title').waitFor({ timeout: 20000 });
  await page.locator('button.authorize').first().click();
  await page.locator('.modal-ux input[type="text"], .modal-ux input:not([type])').first().fill(token);
  await page.locator('.modal-ux button.authorize').first().click();
  await page.locator('.modal-ux button.btn-done, .modal-ux button.close-modal').first().click();
  const operation = page.locator('.opblock', { has: page.locator('.opblock-summary-path[data-path="/api/auth/me"]') }).first();
  await operation.locator('.opblock-summary').first().click();
  await operation.locator('button.try-out__btn').click();
  await operation.locator('button.execute').click();
  const status = operation.locator('.live-responses-table tbody .response-col_status').first();
  await status.waitFor({ timeout: 20000 });
  const statusText = (await status.innerText()).trim();
  const responseBody = await operation.locator('.live-responses-table tbody .response-col_description pre, .live-responses-table tbody .microlight').first().innerText();
  await page.screenshot({ path: `${shots}/swagger-ui.png`, fullPage: false });
  if (!statusText.startsWith('200')) failures.push(`Swagger UI request answered ${statusText}`);
  if (!responseBody.includes(email)) failures.push(`Swagger UI response lacks the user: ${responseBody.slice(0, 200)}`);
  console.log(`Swagger UI: authorized, GET /api/auth/me -> ${statusText}`);

  // --- GraphiQL: run the page's starter query (products with their
  // factories, one request) and read the result pane.
  await page.goto(`${base}/graphql`, { waitUntil: 'networkidle' });
  await page.locator('.graphiql-container').waitFor({ timeout: 20000 });
  await page.locator('button.graphiql-execute-button').click();
  const result = page.locator('.graphiql-response').first();
  try {
    await page.waitForFunction(
      () => (document.querySelector('.graphiql-response')?.textContent ?? '').includes('certifications'),
      null,
      { timeout: 20000 },
    );
  } finally {
    await page.screenshot({ path: `${shots}/graphiql.png`, fullPage: false });
  }
  const resultText = await result.innerText();
  if (!resultText.includes('Demo Factory')) failures.push(`GraphiQL result lacks the factories: ${resultText.slice(0, 200)}`);
  console.log('GraphiQL: the starter query ran and shows products with their factories');
} catch (error) {
  failures.push(String(error?.stack ?? error));
} finally {
  await browser.close();
}

// The pages must work air-gapped: any request off the server is a failure.
if (blocked.length > 0) failures.push(`blocked ${blocked.length} off-server request(s): ${[...new Set(blocked)].slice(0, 5).join(', ')}`);
if (failures.length > 0) {
  console.error(`browser test FAILED:\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
console.log(`browser test passed; screenshots in ${shots}`);
