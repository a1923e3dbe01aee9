// Drives the built example app in headless Chromium against a running
// storegate, as a person would: sign up and log in, see a product with its
// factory, open a store, edit an item, lose a race to another writer (412),
// and see a change made elsewhere arrive live. Run by check.sh, which starts
// both servers and sets:
//   APP_URL        the app (vite preview, proxying /api and /graphql)
//   API_URL        storegate itself, for the changes made "elsewhere"
//   STOREGATE_BIN  the server binary, to grant the fixture admin its role
//                  (with DATABASE_URL and JWT_SECRET of the running server)
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const appUrl = required('APP_URL');
const apiUrl = required('API_URL');
const bin = required('STOREGATE_BIN');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const shots = process.env.SCREENSHOT_DIR ?? '../../target/web-screenshots';
const WAIT = 15_000;

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`e2e: ${name} is not set (run examples/web/check.sh)`);
    process.exit(2);
  }
  return value;
}

/** One REST call to storegate, failing loudly on an unexpected status. */
async function api(method, path, { token, body, expect = [200, 201, 204] } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(apiUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  if (!expect.includes(response.status)) {
    throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  }
  return text ? JSON.parse(text) : null;
}

async function login(email, password) {
  return (await api('POST', '/api/auth/login', { body: { email, password } })).access_token;
}

let current = 'start';
function step(name) {
  current = name;
  console.log(`e2e: ${name}`);
}

const stamp = Date.now();
const password = 'example app password';

// --- fixtures: a factory and a product (factories need an admin) ----------
step('create a factory and a product through the API');
const adminEmail = `web-admin-${stamp}@example.com`;
await api('POST', '/api/auth/signup', { body: { email: adminEmail, password } });
execFileSync(bin, ['user', 'grant-admin', adminEmail], { stdio: ['ignore', 'ignore', 'inherit'] });
const admin = await login(adminEmail, password);
const factory = await api('POST', '/api/factories', {
  token: admin,
  body: { name: `Web Factory ${stamp}`, address: '1 Example Road', city: 'Osaka', country: 'Japan', certifications: ['ISO 9001'] },
});
const product = await api('POST', '/api/products', {
  token: admin,
  body: { sku: `WEB-${stamp}`, name: `Web Product ${stamp}`, price: 12.5, factory_id: factory.id },
});

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1300, height: 1100 } });
const page = await context.newPage();
const pageErrors = [];
const offOrigin = [];
page.on('pageerror', (error) => pageErrors.push(error.message));
page.on('console', (message) => {
  // The refused save's 412 is logged by Chromium as a failed load; it is
  // expected, and the steps check every answer themselves.
  if (message.type() === 'error' && !message.text().includes('status of 412')) {
    pageErrors.push(`console: ${message.text()}`);
  }
});
// The app must need nothing but its own origin.
const origin = new URL(appUrl).origin;
await context.route('**/*', (route) => {
  const url = route.request().url();
  if (url.startsWith(origin) || url.startsWith('data:')) return route.continue();
  offOrigin.push(url);
  return route.abort();
});

const text = (testid) => page.getByTestId(testid).innerText();
const waitForText = (selector, needle, what) =>
  page
    .waitForFunction(
      ([s, n]) => [...document.querySelectorAll(s)].some((e) => (e.textContent ?? '').includes(n)),
      [selector, needle],
      { timeout: WAIT },
    )
    .catch(async () => {
      const seen = await page.locator(selector).allInnerTexts().catch(() => []);
      throw new Error(`${what}: "${needle}" never appeared in ${selector}; it shows ${JSON.stringify(seen).slice(0, 400)}`);
    });
const itemRow = (id) => page.locator(`[data-testid="items"] tr[data-item-id="${id}"]`);

let failure = null;
try {
  const email = `web-user-${stamp}@example.com`;

  step('sign up in the page');
  await page.goto(appUrl, { waitUntil: 'load' });
  await page.locator('input[name="email"]').fill(email);
  await page.locator('input[name="password"]').fill(password);
  await page.getByTestId('signup').click();
  await waitForText('[data-testid="auth-message"]', 'Account created', 'signing up');

  // The signed-up user's store and item, made behind the page (the page
  // lists stores when it logs in).
  const user = await login(email, password);
  const store = await api('POST', '/api/stores', { token: user, body: { name: `Web Store ${stamp}` } });
  const item = await api('POST', '/api/items', { token: user, body: { name: 'Teapot', price: 10, store_id: store.id } });

  step('log in in the page; see the product with its factory');
  await page.getByTestId('login').click();
  await waitForText('[data-testid="who"]', email, 'logging in');
  await waitForText('[data-testid="products"] tr', product.name, 'the products table');
  const productRow = await page.locator(`[data-testid="products"] tr[data-product-id="${product.id}"]`).innerText();
  if (!productRow.includes(factory.name) || !productRow.includes('Japan')) {
    throw new Error(`the product's row lacks its factory: ${productRow}`);
  }

  step('open the store; see its item; the live socket connects');
  await page.locator(`[data-testid="stores"] button[data-store-id="${store.id}"]`).click();
  await waitForText('[data-testid="store-name"]', store.name, 'opening the store');
  await waitForText('[data-testid="items"] tr', 'Teapot', 'the store\'s items');
  await waitForText('[data-testid="live"]', 'live: connected', 'the subscription socket');

  step('edit the item in the page (GET gives the ETag, PATCH sends If-Match)');
  await itemRow(item.id).getByRole('button', { name: 'Edit' }).click();
  await page.waitForFunction(() => document.querySelector('[data-testid="edit-name"]')?.value === 'Teapot', null, { timeout: WAIT });
  const etag = await text('etag');
  if (!etag || etag === '(none)') {
    throw new Error('GET /api/items/{id} sent no ETag header (docs/API.md §3.2), so the editor cannot send If-Match');
  }
  await page.getByTestId('edit-name').fill('Teapot, blue');
  await page.getByTestId('edit-price').fill('19.99');
  await page.getByTestId('save').click();
  await waitForText('[data-testid="editor-message"]', 'Saved Teapot, blue at 19.99', 'saving the item');
  const saved = await api('GET', `/api/items/${item.id}`);
  if (saved.name !== 'Teapot, blue' || saved.price !== 19.99) throw new Error(`the server has ${JSON.stringify(saved)}`);
  if ((await text('etag')) === etag) throw new Error('the editor kept the old ETag after saving');

  // storegate gives no outside signal that a subscription is registered
  // (the socket's `connected` precedes it), so a change the page might
  // have missed is made again, with a new value, until one shows. Each
  // try waits for the event; none sleeps blindly.
  step('a change made through the API appears on the page live');
  let shown = null;
  let attempt = 0;
  while (!shown && attempt < 5) {
    attempt += 1;
    const price = (30 + attempt + 0.25).toFixed(2);
    await api('PATCH', `/api/items/${item.id}`, { token: user, body: { price: Number(price) } });
    shown = await page
      .waitForFunction(
        ([id, p]) => document.querySelector(`[data-testid="items"] tr[data-item-id="${id}"] .price`)?.textContent === p,
        [item.id, price],
        { timeout: 3_000 },
      )
      .then(() => price, () => null);
  }
  if (!shown) throw new Error('five changes made through the API never reached the page over itemChanged');
  console.log(`e2e:   the page showed change ${attempt} of at most 5`);
  await waitForText('[data-testid="events"] li', `updated item ${item.id}`, 'the event log');

  step('a stale edit is refused with 412 and the page shows the conflict');
  await itemRow(item.id).getByRole('button', { name: 'Edit' }).click();
  await page.waitForFunction((p) => document.querySelector('[data-testid="edit-price"]')?.value === p, shown, { timeout: WAIT });
  const staleTag = await text('etag');
  await api('PATCH', `/api/items/${item.id}`, { token: user, body: { name: 'Teapot, changed elsewhere' } });
  await page.getByTestId('edit-name').fill('Teapot, my stale edit');
  await page.getByTestId('save').click();
  await waitForText('[data-testid="editor-message"]', '412 PRECONDITION_FAILED', 'the conflict message');
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: `${shots}/example-app-conflict.png`, fullPage: true });
  const message = await text('editor-message');
  if (!message.startsWith('Conflict')) throw new Error(`the conflict is not explained: ${message}`);
  if ((await text('etag')) !== staleTag) throw new Error('the editor changed its ETag on a refused save');
  const kept = await api('GET', `/api/items/${item.id}`);
  if (kept.name !== 'Teapot, changed elsewhere') throw new Error(`the refused save changed the item: ${JSON.stringify(kept)}`);

  step('reload the item and save again: it goes through');
  await page.getByTestId('reload').click();
  await page.waitForFunction(
    () => document.querySelector('[data-testid="edit-name"]')?.value === 'Teapot, changed elsewhere',
    null,
    { timeout: WAIT },
  );
  await page.getByTestId('edit-price').fill('25');
  await page.getByTestId('save').click();
  await waitForText('[data-testid="editor-message"]', 'Saved Teapot, changed elsewhere at 25.00', 'saving after reload');

  if (pageErrors.length > 0) throw new Error(`the page reported errors: ${pageErrors.join(' | ')}`);
  if (offOrigin.length > 0) throw new Error(`the page asked for something off its origin: ${[...new Set(offOrigin)].join(', ')}`);
} catch (error) {
  failure = error;
} finally {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: `${shots}/example-app.png`, fullPage: true }).catch(() => {});
  await browser.close();
}

if (failure) {
  console.error(`e2e: FAILED at "${current}": ${failure.message ?? failure}`);
  if (pageErrors.length > 0) console.error(`e2e: page errors: ${pageErrors.join(' | ')}`);
  console.error(`e2e: screenshot in ${shots}/example-app.png`);
  process.exit(1);
}
console.log(`e2e: passed; screenshot in ${shots}/example-app.png`);
