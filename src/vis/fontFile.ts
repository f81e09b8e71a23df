/** Where the bundled font is (a module of its own: code that only needs the file need not load the canvas). */
import { createRequire } from 'node:module';
import path from 'node:path';

const FONT_FILE = 'NotoSansHans-Regular.otf';

/**
 * Path of the bundled Noto Sans Hans Regular OTF inside @embedpdf/fonts-sc. The package's `exports`
 * map does not expose its package.json, so the directory is found from the resolved main entry (dist/index.cjs).
 */
export function bundledFontPath(): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@embedpdf/fonts-sc');
  return path.join(path.dirname(entry), '..', 'fonts', FONT_FILE);
}
