// Runs graphql-http's server audits (the GraphQL-over-HTTP spec's MUST and
// SHOULD rules) against GRAPHQL_URL and exits non-zero if a MUST fails or
// a SHOULD warns (MAY notices are allowed).
//   GRAPHQL_URL=http://127.0.0.1:8080/graphql node audit.mjs
import { auditServer } from 'graphql-http';

const url = process.env.GRAPHQL_URL ?? 'http://127.0.0.1:8080/graphql';
const results = await auditServer({ url });

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] += 1;
  if (result.status !== 'ok') {
    console.log(`${result.status.toUpperCase()} ${result.id} ${result.name}: ${result.reason}`);
  }
}
const failures = results.filter((r) => r.status === 'error' || r.status === 'warn');
console.log(
  `graphql-http audit of ${url}: ${results.length} audits, ${counts.ok} passed, ` +
    `${counts.notice} MAY notices, ${counts.warn} SHOULD warnings, ${counts.error} MUST failures`,
);
process.exit(failures.length === 0 ? 0 : 1);
