// REST through openapi-fetch, typed by openapi-typescript from the server's
// committed openapi.json (src/generated/openapi.ts; `npm run generate`).
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from '../generated/openapi';
import { authorization } from './session';

export type Item = components['schemas']['Item'];
export type Problem = components['schemas']['Problem'];

export const rest = createClient<paths>({ baseUrl: window.location.origin });

const bearer: Middleware = {
  onRequest({ request }) {
    for (const [name, value] of Object.entries(authorization())) request.headers.set(name, value);
    return request;
  },
};
rest.use(bearer);

/** A problem+json body, or a stand-in when the answer was not one. */
export function problem(error: unknown, response: Response): Problem {
  if (error && typeof error === 'object' && 'status' in error && 'title' in error) return error as Problem;
  return {
    type: 'about:blank',
    title: response.statusText || 'Request failed',
    status: response.status,
    detail: typeof error === 'string' ? error : undefined,
    code: 'INTERNAL',
  } as Problem;
}

/** One item and the ETag of that representation. */
export interface Tagged {
  item: Item;
  etag: string | null;
}

export async function getItem(id: number): Promise<Tagged> {
  const { data, error, response } = await rest.GET('/api/items/{id}', { params: { path: { id } } });
  if (!data) throw problem(error, response);
  return { item: data, etag: response.headers.get('ETag') };
}

export type SaveResult =
  | { ok: true; tagged: Tagged }
  | { ok: false; conflict: boolean; problem: Problem };

/**
 * Changes an item only if it is still the version the ETag names: another
 * change since then makes the server answer 412 PRECONDITION_FAILED and
 * change nothing (docs/API.md §3.2).
 */
export async function saveItem(id: number, etag: string | null, change: { name: string; price: number }): Promise<SaveResult> {
  const { data, error, response } = await rest.PATCH('/api/items/{id}', {
    params: { path: { id }, header: etag ? { 'If-Match': etag } : {} },
    body: change,
  });
  if (data) return { ok: true, tagged: { item: data, etag: response.headers.get('ETag') } };
  return { ok: false, conflict: response.status === 412, problem: problem(error, response) };
}
