import { ConfigError } from '../../errors.js';
import { ELEMENT_BYTES, numel, PADDLE_DTYPE_CODES, type TensorInfo } from './program.js';
import { tensorDescType } from './programDesc.js';

export interface ParamTensor extends TensorInfo {
  /** raw little-endian element data, a view into the file buffer */
  data: Uint8Array;
}

/**
 * Reads `.pdiparams`: tensors stored back to back without names, in the order of `names`
 * (the program's persistable names sorted by byte order). Per tensor: u32 version, u64 LoD level
 * count (+ per level u64 byte size and offsets), u32 version, i32 TensorDesc size, TensorDesc, data.
 */
export function readPdiparams(buffer: Uint8Array, names: string[], where: string): Map<string, ParamTensor> {
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const params = new Map<string, ParamTensor>();
  let offset = 0;
  const need = (bytes: number, what: string) => {
    if (offset + bytes > buffer.byteLength) {
      throw new ConfigError(
        `${where}: ends inside ${what} of tensor ${params.size + 1} of ${names.length} ("${names[params.size]}"): the file is truncated or belongs to another program`,
      );
    }
  };
  for (const name of names) {
    need(12, 'the header');
    offset += 4; // LoD tensor version
    const lodLevels = Number(view.getBigUint64(offset, true));
    offset += 8;
    for (let level = 0; level < lodLevels; level++) {
      need(8, 'the LoD');
      const bytes = Number(view.getBigUint64(offset, true));
      offset += 8 + bytes;
    }
    need(8, 'the tensor header');
    offset += 4; // tensor version
    const descSize = view.getInt32(offset, true);
    offset += 4;
    need(descSize, 'the TensorDesc');
    const desc = tensorDescType().toObject(tensorDescType().decode(buffer.subarray(offset, offset + descSize)), { longs: Number });
    offset += descSize;
    const dtype = PADDLE_DTYPE_CODES[desc.data_type as number];
    if (!dtype) throw new ConfigError(`${where}: tensor "${name}" has unsupported data type ${desc.data_type}`);
    const shape = (desc.dims as number[] | undefined) ?? [];
    const bytes = numel(shape) * ELEMENT_BYTES[dtype];
    need(bytes, 'the data');
    params.set(name, { dtype, shape, data: buffer.subarray(offset, offset + bytes) });
    offset += bytes;
  }
  if (offset !== buffer.byteLength) {
    throw new ConfigError(
      `${where}: ${buffer.byteLength - offset} bytes left after the ${names.length} tensors the program declares: the weights belong to another program`,
    );
  }
  return params;
}

/** Serializes tensors in `.pdiparams` layout (the order given); used to make weights for program-only dirs. */
export function writePdiparams(tensors: ParamTensor[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const t of tensors) {
    const code = Number(Object.entries(PADDLE_DTYPE_CODES).find(([, d]) => d === t.dtype)![0]);
    const desc = tensorDescType().encode({ data_type: code, dims: t.shape }).finish();
    const header = new DataView(new ArrayBuffer(20));
    header.setUint32(0, 0, true);
    header.setBigUint64(4, 0n, true);
    header.setUint32(12, 0, true);
    header.setInt32(16, desc.byteLength, true);
    chunks.push(new Uint8Array(header.buffer), desc, t.data);
  }
  return Buffer.concat(chunks);
}
