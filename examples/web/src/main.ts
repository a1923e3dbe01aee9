// The example app: sign up / log in (REST), products with their factories
// and stores with their items (GraphQL), an item editor that sends the
// ETag back as If-Match (REST), and live item changes (GraphQL
// subscription over /graphql/ws).
import { connect, graphqlClient, type LiveState } from './api/graphql';
import { getItem, problem, rest, saveItem, type Problem, type Tagged } from './api/rest';
import { setAccessToken } from './api/session';
import {
  ItemChangedDocument as ItemChanged,
  ProductsWithFactoriesDocument as ProductsWithFactories,
  StoreWithItemsDocument as StoreWithItems,
  StoresDocument as Stores,
} from './generated/graphql';

function $(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element;
}

function cell(text: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

const money = (price: number) => price.toFixed(2);

function say(id: string, text: string, kind: 'ok' | 'error' | 'conflict' = 'ok'): void {
  const element = $(id);
  element.textContent = text;
  element.dataset.kind = kind;
}

function describe(p: Problem): string {
  const fields = p.errors?.map((e) => `${e.field}: ${e.message}`).join('; ');
  return `${p.status} ${p.code}: ${p.detail ?? p.title}${fields ? ` (${fields})` : ''}`;
}

// --- sign up / log in ------------------------------------------------------

$('auth-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.target as HTMLFormElement;
  const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null;
  const fields = new FormData(form);
  const credentials = { email: String(fields.get('email')), password: String(fields.get('password')) };
  if (submitter?.value === 'signup') {
    const { data, error, response } = await rest.POST('/api/auth/signup', { body: credentials });
    if (data) say('auth-message', `Account created for ${data.email}; now log in.`);
    else say('auth-message', describe(problem(error, response)), 'error');
    return;
  }
  const { data, error, response } = await rest.POST('/api/auth/login', { body: credentials });
  if (!data) {
    say('auth-message', describe(problem(error, response)), 'error');
    return;
  }
  setAccessToken(data.access_token);
  say('auth-message', '');
  $('who').textContent = credentials.email.trim().toLowerCase();
  connect(showLive);
  $('auth').hidden = true;
  await Promise.all([loadProducts(), loadStores()]);
});

function showLive(state: LiveState, detail?: string): void {
  const live = $('live');
  live.textContent = `live: ${state}${detail ? ` (${detail})` : ''}`;
  live.dataset.state = state;
}

// --- products with their factories ----------------------------------------

async function loadProducts(): Promise<void> {
  const result = await graphqlClient().query(ProductsWithFactories, { first: 20 }).toPromise();
  const body = $('products');
  body.replaceChildren();
  if (result.error) {
    const row = document.createElement('tr');
    row.append(cell(result.error.message));
    body.append(row);
  }
  for (const product of result.data?.products.nodes ?? []) {
    const row = document.createElement('tr');
    row.dataset.productId = product.id;
    row.append(
      cell(product.sku),
      cell(product.name),
      cell(money(product.price)),
      cell(product.factory.name),
      cell(product.factory.country),
      cell(product.factory.certifications.join(', ')),
    );
    body.append(row);
  }
  $('catalog').hidden = false;
}

// --- stores and their items, live -----------------------------------------

let liveItems: { unsubscribe(): void } | null = null;

async function loadStores(): Promise<void> {
  const result = await graphqlClient().query(Stores, {}).toPromise();
  const list = $('stores');
  list.replaceChildren();
  for (const store of result.data?.stores.nodes ?? []) {
    const button = document.createElement('button');
    button.textContent = store.name;
    button.dataset.storeId = store.id;
    button.addEventListener('click', () => void openStore(store.id));
    const li = document.createElement('li');
    li.append(button);
    list.append(li);
  }
  $('stores-section').hidden = false;
}

interface ItemRow {
  id: string;
  name: string;
  price: number;
  updatedAt: string;
}

function itemRow(item: ItemRow): HTMLTableRowElement {
  const row = document.createElement('tr');
  row.dataset.itemId = item.id;
  const edit = document.createElement('button');
  edit.textContent = 'Edit';
  edit.dataset.testid = 'edit';
  edit.addEventListener('click', () => void openEditor(Number(item.id)));
  const actions = document.createElement('td');
  actions.append(edit);
  const name = cell(item.name);
  name.className = 'name';
  const price = cell(money(item.price));
  price.className = 'price';
  row.append(name, price, cell(item.updatedAt), actions);
  return row;
}

/** Puts `item` in the table, replacing its row if it is there. */
function showItem(item: ItemRow): void {
  const body = $('items');
  const row = itemRow(item);
  const old = body.querySelector<HTMLTableRowElement>(`tr[data-item-id="${item.id}"]`);
  if (old) old.replaceWith(row);
  else body.append(row);
}

async function openStore(id: string): Promise<void> {
  liveItems?.unsubscribe();
  const result = await graphqlClient().query(StoreWithItems, { id }).toPromise();
  const store = result.data?.store;
  if (!store) {
    say('store-name', result.error?.message ?? `store ${id} not found`, 'error');
    $('store').hidden = false;
    return;
  }
  $('store-name').textContent = store.name;
  $('store').dataset.storeId = store.id;
  $('items').replaceChildren();
  $('events').replaceChildren();
  store.items.forEach(showItem);
  $('store').hidden = false;

  // Every change to this store's items, whoever makes it and through
  // whichever face, arrives here.
  liveItems = graphqlClient()
    .subscription(ItemChanged, { storeId: store.id })
    .subscribe((result) => {
      const event = result.data?.itemChanged;
      if (!event) {
        if (result.error) logEvent(`subscription error: ${result.error.message}`);
        return;
      }
      const { kind, item } = event;
      if (kind === 'DELETED') $('items').querySelector(`tr[data-item-id="${item.id}"]`)?.remove();
      else showItem(item);
      logEvent(`${kind.toLowerCase()} item ${item.id}: ${item.name} at ${money(item.price)}`);
      if (editing && String(editing.item.id) === item.id && Date.parse(item.updatedAt) !== Date.parse(editing.item.updated_at)) {
        say('editor-message', 'This item has just changed on the server; saving now will be refused.', 'conflict');
      }
    });
}

function logEvent(text: string): void {
  const li = document.createElement('li');
  li.textContent = text;
  $('events').prepend(li);
}

// --- the item editor: GET gives the ETag, PATCH sends it as If-Match ------

let editing: Tagged | null = null;

function fillEditor(tagged: Tagged): void {
  editing = tagged;
  const form = $('editor-form') as HTMLFormElement;
  (form.elements.namedItem('name') as HTMLInputElement).value = tagged.item.name;
  (form.elements.namedItem('price') as HTMLInputElement).value = money(tagged.item.price);
  $('editor-id').textContent = `#${tagged.item.id}`;
  $('etag').textContent = tagged.etag ?? '(none)';
}

async function openEditor(id: number): Promise<void> {
  try {
    fillEditor(await getItem(id));
    say('editor-message', '');
    $('editor').dataset.itemId = String(id);
    $('editor').hidden = false;
  } catch (error) {
    // getItem throws the problem+json; fetch itself throws on a network error.
    const text = error instanceof Error ? error.message : describe(error as Problem);
    say('editor-message', text, 'error');
  }
}

$('editor-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!editing) return;
  const fields = new FormData(event.target as HTMLFormElement);
  const change = { name: String(fields.get('name')), price: Number(fields.get('price')) };
  const result = await saveItem(editing.item.id, editing.etag, change).catch((error: unknown) => {
    say('editor-message', `Not saved: ${String(error)}`, 'error');
    return null;
  });
  if (!result) return;
  if (result.ok) {
    fillEditor(result.tagged);
    showItem({ ...result.tagged.item, id: String(result.tagged.item.id), updatedAt: result.tagged.item.updated_at });
    say('editor-message', `Saved ${result.tagged.item.name} at ${money(result.tagged.item.price)}.`);
  } else if (result.conflict) {
    say(
      'editor-message',
      `Conflict: someone else changed this item after you opened it, so nothing was saved ` +
        `(${describe(result.problem)}). Reload to see their version, then edit again.`,
      'conflict',
    );
  } else {
    say('editor-message', describe(result.problem), 'error');
  }
});

$('reload').addEventListener('click', () => {
  if (editing) void openEditor(editing.item.id);
});
