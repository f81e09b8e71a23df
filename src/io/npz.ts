/**
 * NumPy `.npz` archives (a zip of `.npy` arrays), as `np.savez` / `np.savez_compressed` write them:
 * Whisper ships its mel filterbank so. The zip is read with `fflate`; the `.npy` header is a short
 * Python dict literal, parsed here because npm's npy readers fetch URLs or take whole browser buffers
 * and add nothing for the two little-endian float types needed.
 */
import { unzipSync } from 'fflate';

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = '\x93NUMPY';

function parseNpy(bytes: Uint8Array, name: string): NpyArray {
  const text = (from: number, to: number) => Buffer.from(bytes.subarray(from, to)).toString('latin1');
  if (text(0, 6) !== MAGIC) throw new Error(`${name}: not a .npy array`);
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = text(start, start + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new Error(`${name}: unreadable .npy header ${JSON.stringify(header)}`);
  if (fortran) throw new Error(`${name}: Fortran-ordered arrays are not supported`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLength;
  const data = new Float32Array(count);
  if (descr === '<f4') {
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(offset + 4 * i, true);
  } else if (descr === '<f8') {
    for (let i = 0; i < count; i++) data[i] = view.getFloat64(offset + 8 * i, true);
  } else {
    throw new Error(`${name}: dtype ${descr} is not supported (expected float32 or float64)`);
  }
  return { shape, data };
}

/** The arrays of an .npz archive by name (without `.npy`). */
export function readNpz(bytes: Uint8Array, name: string): Map<string, NpyArray> {
  const files = unzipSync(bytes);
  return new Map(
    Object.entries(files)
      .filter(([file]) => file.endsWith('.npy'))
      .map(([file, content]) => [file.slice(0, -4), parseNpy(content, `${name}/${file}`)]),
  );
}
