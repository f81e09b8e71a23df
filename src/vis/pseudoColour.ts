import type { RgbImage } from '../io/image.js';
import type { Rgb } from './draw.js';

/**
 * Colour of label `k` in PaddleX's segmentation pictures: the PASCAL VOC colour map (bits of the
 * number spread over R, G, B from the high bit down) of k + 1, since PaddleX drops the first entry
 * of its 257-colour list. So label 0 is dark red (128, 0, 0), label 1 green (0, 128, 0), 255 is (0, 0, 32).
 */
export function vocLabelColour(label: number): Rgb {
  const rgb = [0, 0, 0];
  let lab = (label & 0xff) + 1;
  for (let bit = 7; lab > 0; bit--, lab >>= 3) {
    rgb[0] |= (lab & 1) << bit;
    rgb[1] |= ((lab >> 1) & 1) << bit;
    rgb[2] |= ((lab >> 2) & 1) << bit;
  }
  return rgb as unknown as Rgb;
}

/**
 * A label map drawn as PaddleX's SegResult / UadResult draw it: each pixel in its label's colour,
 * nothing else (a palette image of the labels, converted to RGB). Labels must fit in 0-255.
 */
export function pseudoColourImage(labels: ArrayLike<number>, width: number, height: number): RgbImage {
  const palette = Array.from({ length: 256 }, (_, k) => vocLabelColour(k));
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const label = labels[i]!;
    if (label < 0 || label > 255) throw new RangeError(`label ${label} cannot be drawn (PaddleX draws labels 0-255)`);
    data.set(palette[label]!, i * 3);
  }
  return { width, height, data };
}
