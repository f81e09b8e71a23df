/**
 * The playground's build (`npm run build`): one hashed JS and CSS bundle in dist/playground,
 * served by the server at `GET /` (src/serving/basic/playground.ts). Nothing loads from a CDN.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  // relative asset URLs: the page works under any path prefix a reverse proxy puts it at
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: '../dist/playground', emptyOutDir: true, target: 'es2022' },
});
