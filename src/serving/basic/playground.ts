/**
 * The playground at `GET /` (`--no-playground` turns it off): a static page built by `npm run build`
 * from playground/ (Vite + Preact) into dist/playground, served with @fastify/static. Its hashed
 * assets never change under a name, so browsers keep them for a year; index.html is revalidated
 * (ETag) on every load, so a new build shows at once.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { ConfigError } from '../../errors.js';

/** dist/playground, beside dist/src where this module runs from */
export const PLAYGROUND_DIR = fileURLToPath(new URL('../../../playground/', import.meta.url));
const ASSETS_DIR = path.join(PLAYGROUND_DIR, 'assets') + path.sep;

export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';

/** The page and its assets: open without the API key, which the page asks for itself. */
export function isPlaygroundPath(urlPath: string): boolean {
  return urlPath === '/' || urlPath === '/index.html' || urlPath.startsWith('/assets/');
}

export async function registerPlayground(app: FastifyInstance): Promise<void> {
  if (!existsSync(path.join(PLAYGROUND_DIR, 'index.html'))) {
    throw new ConfigError(
      `The playground is not built (${PLAYGROUND_DIR}index.html is missing): run npm run build, or pass --no-playground`,
    );
  }
  await app.register(fastifyStatic, {
    root: PLAYGROUND_DIR,
    // one route per built file: every other path stays with the API's 404/405 envelope
    wildcard: false,
    cacheControl: false,
    setHeaders(res, file) {
      res.setHeader('cache-control', file.startsWith(ASSETS_DIR) ? IMMUTABLE_CACHE : 'no-cache');
    },
  });
}
