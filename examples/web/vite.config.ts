// The app is served from the same origin as the API it calls: `vite dev`
// and `vite preview` forward /api and /graphql (including the websocket at
// /graphql/ws) to storegate at STOREGATE_URL. Same origin means no CORS
// preflight, and storegate's CORS layer (src/observability.rs) neither
// allows the `If-Match` request header nor exposes `ETag`, which the
// item editor needs; behind one origin both simply pass.
import { defineConfig } from 'vite';

const target = process.env.STOREGATE_URL ?? 'http://127.0.0.1:8080';
const proxy = {
  '/api': { target },
  '/graphql': { target, ws: true },
};

export default defineConfig({
  server: { proxy },
  preview: { proxy },
  build: { target: 'es2022' },
});
