import { GlobalFonts } from '@napi-rs/canvas';
import { bundledFontPath } from './fontFile.js';

/** Family name under which the bundled Noto Sans Hans Regular is registered (covers CJK and Latin). */
export const VIS_FONT_FAMILY = 'Pipeserve Noto Sans Hans';

let registered = false;

/**
 * Registers the bundled font with @napi-rs/canvas, once per thread (module state is per thread),
 * so text renders the same on a machine without any system fonts.
 */
export function ensureVisFont(): void {
  if (registered) return;
  const fontPath = bundledFontPath();
  if (GlobalFonts.registerFromPath(fontPath, VIS_FONT_FAMILY) === null) {
    throw new Error(`could not register the visualization font ${fontPath}`);
  }
  registered = true;
}

/** CSS font shorthand for `ctx.font` in the bundled family; registers the font on first use. */
export function visFont(sizePx: number): string {
  ensureVisFont();
  return `${sizePx}px "${VIS_FONT_FAMILY}"`;
}
