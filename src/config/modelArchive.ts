import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';

/**
 * Unpacks a model archive as PaddleX's BOS source ships them (`<model_name>_infer.tar`), refusing
 * anything a model dir never holds: paths leaving the target, links and device entries, and sizes
 * past the caps. Every entry is checked before one byte is written.
 */

export interface ArchiveLimits {
  /** sum of the entries' sizes */
  totalBytes: number;
  entries: number;
}

/** The largest official PaddleX models (multi-billion-parameter VLMs) stay well under these. */
export const ARCHIVE_LIMITS: ArchiveLimits = { totalBytes: 32 * 1024 ** 3, entries: 10_000 };

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);
// pax headers describe the entry after them; node-tar applies them itself
const METADATA_TYPES = new Set(['ExtendedHeader', 'GlobalExtendedHeader', 'NextFileHasLongPath', 'NextFileHasLongLinkpath']);

function unsafePath(entryPath: string): boolean {
  if (path.isAbsolute(entryPath) || /^[a-zA-Z]:/.test(entryPath)) return true;
  return entryPath.split(/[\\/]+/).includes('..');
}

/** Lists the archive and throws on the first entry a model archive must not hold. */
async function checkEntries(file: string, limits: ArchiveLimits): Promise<void> {
  let total = 0;
  let count = 0;
  let problem: string | undefined;
  await tar.t({
    file,
    strict: true,
    onReadEntry: (entry) => {
      if (problem || METADATA_TYPES.has(entry.type)) return;
      count++;
      total += entry.size ?? 0;
      if (!ALLOWED_TYPES.has(entry.type)) problem = `"${entry.path}" is a ${entry.type}, not a file or directory`;
      else if (unsafePath(entry.path)) problem = `"${entry.path}" points outside the model dir`;
      else if (count > limits.entries) problem = `more than ${limits.entries} entries`;
      else if (total > limits.totalBytes) problem = `more than ${limits.totalBytes} bytes unpacked`;
    },
  });
  if (problem) throw new Error(`refusing the archive: ${problem}`);
}

/**
 * Extracts `file` and moves the model dir it holds to `target` (which must not exist). As PaddleX's
 * download_and_extract: an archive with one top-level dir is that dir (`<model_name>_infer/`);
 * otherwise the model is its `<model_name>/` dir.
 */
export async function extractModelArchive(file: string, target: string, modelName: string, limits = ARCHIVE_LIMITS): Promise<void> {
  await checkEntries(file, limits);
  const scratch = `${target}.extract`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  try {
    await tar.x({
      file,
      cwd: scratch,
      strict: true,
      preservePaths: false,
      filter: (_, entry) => 'type' in entry && ALLOWED_TYPES.has(entry.type),
    });
    const top = await readdir(scratch);
    const single = top.length === 1 && (await stat(path.join(scratch, top[0]!))).isDirectory() ? top[0]! : undefined;
    const modelDir = path.join(scratch, single ?? modelName);
    if (!(await stat(modelDir).catch(() => undefined))?.isDirectory()) {
      throw new Error(`the archive holds neither one top-level dir nor ${modelName}/ (found: ${top.join(', ') || 'nothing'})`);
    }
    await rename(modelDir, target);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
