/**
 * Reads a client's tar archive into memory, refusing what could hurt the server: PaddleX extracts
 * the 3D BEV sample with Python's `tarfile` `extract` of every member, which writes wherever
 * member names point (`../`, absolute paths), follows links and has no size limits. Here nothing is
 * written to disk; the archive is parsed with node-tar (its Parser, strict) and every member must be
 * a regular file or a directory with a relative name inside the archive, within the entry-count,
 * per-file and total size caps (a size is checked from the member's header, before its data is
 * read). Compressed archives are refused: a gzip bomb would inflate before any header could be
 * checked, and PaddleX's samples are plain `.tar` files.
 */
import { Parser, type ReadEntry } from 'tar';
import { type ApiError, invalidInput } from '../errors.js';

export interface TarLimits {
  /** members of any type, directories included */
  maxEntries: number;
  /** bytes of one file */
  maxFileBytes: number;
  /** bytes of all files together */
  maxTotalBytes: number;
}

/** The regular files of an archive by their normalised relative path (`a/b.bin`, no `./`). */
export type TarFiles = Map<string, Uint8Array>;

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

function mebibytes(bytes: number): string {
  return `${Math.round((bytes / 2 ** 20) * 10) / 10} MB`;
}

/**
 * A member name as a relative POSIX path with `.` segments removed, or a 422 for names that are
 * absolute, climb out with `..`, use backslashes or drive letters, or hold control characters.
 */
export function safeMemberPath(name: string, field: string): string {
  const refuse = (why: string) => invalidInput(`${field}: the archive member ${JSON.stringify(name)} ${why}`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) throw refuse('has control characters in its name');
  if (name.includes('\\')) throw refuse('has a backslash in its name');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw refuse('has an absolute path');
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw refuse('climbs out of the archive with ".."');
  if (segments.length === 0) throw refuse('has an empty name');
  return segments.join('/');
}

/** Every regular file of a plain (uncompressed) tar archive, read with the caps of `limits`; problems are 422s naming `field`. */
export async function readSafeTar(bytes: Uint8Array, limits: TarLimits, field: string): Promise<TarFiles> {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) throw invalidInput(`${field}: the archive is gzip-compressed; send the plain .tar`);
  if (bytes.length < 512) throw invalidInput(`${field}: not a tar archive (${bytes.length} bytes, less than one tar header)`);
  const files: TarFiles = new Map();
  const seen = new Set<string>();
  let entries = 0;
  let total = 0;
  return new Promise<TarFiles>((resolve, reject) => {
    let failure: ApiError | undefined;
    const parser = new Parser({ strict: true });
    const fail = (error: ApiError) => {
      if (failure) return;
      failure = error;
      reject(error);
      parser.abort(error);
    };
    parser.on('entry', (entry: ReadEntry) => {
      if (failure) return void entry.resume();
      try {
        if (++entries > limits.maxEntries) throw invalidInput(`${field}: the archive has more than ${limits.maxEntries} members`);
        const name = safeMemberPath(entry.path, field);
        if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
          throw invalidInput(
            `${field}: the archive member ${JSON.stringify(entry.path)} is a ${entry.type === 'Link' ? 'hard' : 'symbolic'} link; links are refused`,
          );
        }
        if (entry.type === 'Directory') return void entry.resume();
        if (!FILE_TYPES.has(entry.type)) {
          throw invalidInput(
            `${field}: the archive member ${JSON.stringify(entry.path)} is a ${entry.type}; only files and directories are accepted`,
          );
        }
        if (seen.has(name)) throw invalidInput(`${field}: the archive holds ${JSON.stringify(name)} twice`);
        seen.add(name);
        const size = entry.size ?? 0;
        if (size > limits.maxFileBytes) {
          throw invalidInput(
            `${field}: the archive member ${JSON.stringify(name)} is ${mebibytes(size)}; at most ${mebibytes(limits.maxFileBytes)} per file are accepted`,
          );
        }
        total += size;
        if (total > limits.maxTotalBytes) {
          throw invalidInput(`${field}: the archive's files add up to more than ${mebibytes(limits.maxTotalBytes)}`);
        }
        const data = new Uint8Array(size);
        let filled = 0;
        entry.on('data', (chunk: Buffer) => {
          // the header's size bounds the data node-tar hands out; a mismatch is a broken archive
          if (filled + chunk.length > size)
            return fail(invalidInput(`${field}: the archive member ${JSON.stringify(name)} is longer than its header says`));
          data.set(chunk, filled);
          filled += chunk.length;
        });
        entry.on('end', () => {
          if (!failure && filled === size) files.set(name, data);
        });
      } catch (err) {
        entry.resume();
        fail(err as ApiError);
      }
    });
    parser.on('error', (err: Error & { code?: string }) => {
      if (failure) return;
      const reason = err.message.replace(/^TAR_\w+:\s*/, '');
      fail(invalidInput(`${field}: not a readable tar archive (${reason})`));
    });
    parser.on('end', () => {
      if (failure) return;
      if (entries === 0) return fail(invalidInput(`${field}: the tar archive is empty`));
      resolve(files);
    });
    parser.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
}
