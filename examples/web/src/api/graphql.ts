// GraphQL through urql: queries over HTTP POST /graphql, subscriptions over
// the graphql-transport-ws socket at /graphql/ws. Documents and their
// result types come from GraphQL Code Generator (codegen.mjs, from
// src/operations.graphql into src/generated/graphql.ts).
import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createSocket, type Client as Socket } from 'graphql-ws';
import { authorization } from './session';

export type LiveState = 'off' | 'connecting' | 'connected' | 'closed';

let socket: Socket | null = null;
let client: Client | null = null;

/** The client for the current token; `connect` makes a new one per login. */
export function graphqlClient(): Client {
  if (!client) throw new Error('not connected: log in first');
  return client;
}

export function connect(onLive: (state: LiveState, detail?: string) => void): Client {
  socket?.dispose();
  const wsUrl = new URL('/graphql/ws', window.location.href);
  wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  socket = createSocket({
    url: wsUrl.toString(),
    // storegate reads the bearer token from `Authorization` in the
    // connection_init payload (src/graphql/socket.rs, init_token).
    connectionParams: () => authorization(),
    on: {
      connecting: () => onLive('connecting'),
      connected: () => onLive('connected'),
      closed: (event) => {
        const close = event as { code?: number; reason?: string };
        onLive('closed', close.code ? `${close.code} ${close.reason ?? ''}`.trim() : undefined);
      },
    },
  });
  const ws = socket;
  client = new Client({
    url: new URL('/graphql', window.location.href).toString(),
    requestPolicy: 'network-only',
    fetchOptions: () => ({ headers: authorization() }),
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const operation = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              return { unsubscribe: ws.subscribe(operation, sink) };
            },
          };
        },
      }),
    ],
  });
  return client;
}
