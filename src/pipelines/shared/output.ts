/** Turning worker results into response fields. */

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** A response body: the result's fields, then the visualization as Base64 `image` when one was drawn. */
export function withImage<T extends object>(fields: T, image: Uint8Array | undefined): T | (T & { image: string }) {
  return image ? { ...fields, image: toBase64(image) } : fields;
}
