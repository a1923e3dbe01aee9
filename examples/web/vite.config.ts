// The app is served from the same origin as the API it calls: `vite dev`
// and `vite preview` forward /api and /graphql (including the websocket at
// /graphql/ws) to storegate at STOREGATE_URL. So the server needs no CORS
// settings for it, no write pays a preflight (a PATCH with If-Match would
// cross origins with one), and the page is deployed as it would be in
// production: app and API behind one host. Serving dist/ from another
// origin works too: storegate's CORS layer (src/observability.rs) allows
// If-Match and exposes ETag; set CORS_ALLOWED_ORIGINS in production.
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
