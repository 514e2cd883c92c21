import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { solveChallenge } from '../pow/browser-solver.js';
import { parseSaleId } from './validation.js';

// web/ sits beside src/ and dist/, both one level under the package root (tsconfig.build.json).
const webDir = new URL('../../web/room/', import.meta.url);

type Asset = { body: string; type: string };

// Nothing but the page's own scripts and style, and fetches to this origin (no inline code,
// so an injected <script> would not run).
const policy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'self'",
].join('; ');

// The page and its files are the same for every sale and every buyer (the script reads the
// sale from the path and the buyer's token from the link), so they are read once, at startup:
// a crowd loading them at the start costs no database or Redis call, and a browser or a CDN
// may keep them a minute.
export function roomAssets(): Map<string, Asset> {
  const read = (name: string) => readFileSync(new URL(name, webDir), 'utf8');
  const script = 'text/javascript; charset=utf-8';
  return new Map([
    ['room.html', { body: read('room.html'), type: 'text/html; charset=utf-8' }],
    ['room.css', { body: read('room.css'), type: 'text/css; charset=utf-8' }],
    ['room.js', { body: read('room.js'), type: script }],
    ['api.js', { body: read('api.js'), type: script }],
    ['order.js', { body: read('order.js'), type: script }],
    // The solver is self-contained by design (src/pow/browser-solver.ts): one module of it.
    [
      'solver.js',
      { body: `${solveChallenge.toString()}\nexport { solveChallenge };\n`, type: script },
    ],
  ]);
}

const headersOf = (asset: Asset) => ({
  'content-type': asset.type,
  'content-security-policy': policy,
  'cache-control': 'public, max-age=60',
});

// The files the page loads, each a route of its own under /room/ (so the API description
// names each, src/api/openapi/room-paths.ts).
export const roomFiles = ['room.css', 'room.js', 'api.js', 'order.js', 'solver.js'] as const;

// GET /sales/:saleId/room (API.md, Waiting room): the buyer's page, and GET /room/<file> its
// files. The page's query may carry the buyer's token (?token=), which the page reads and takes
// out of the address bar; any other parameter is ignored, as a page's would be.
export function roomPageRoutes(assets = roomAssets()) {
  const page = assets.get('room.html')!;
  const files = new Hono();
  for (const name of roomFiles) {
    const asset = assets.get(name)!;
    files.get(`/${name}`, (c) => c.body(asset.body, 200, headersOf(asset)));
  }
  return {
    page: new Hono().get('/:saleId/room', (c) => {
      parseSaleId(c.req.param('saleId'));
      return c.body(page.body, 200, headersOf(page));
    }),
    files,
  };
}
