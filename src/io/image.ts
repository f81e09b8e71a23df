/** Decoded image, 8-bit RGB interleaved (HWC), the common currency between io, modules and vis. */
export interface RgbImage {
  width: number;
  height: number;
  /** length = width * height * 3 */
  data: Uint8Array;
}
