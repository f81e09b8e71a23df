/**
 * Video frames through Debian's `ffmpeg` / `ffprobe` (npm has no maintained decoder for the common
 * codecs outside the browser: ffmpeg.wasm needs browser workers). Both run as child processes on a
 * file, one thread each, with a time limit, and their output is read with a size cap.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { invalidInput } from '../errors.js';
import type { RgbImage } from './image.js';

export interface VideoLimits {
  /** longer videos are refused before any frame is decoded */
  maxSeconds: number;
  /** videos with more frames are refused (each frame may be a model run) */
  maxFrames: number;
  /** a decoder process is killed after this long */
  timeoutMs: number;
}

export interface VideoInfo {
  width: number;
  height: number;
  /** frames in the container's index (decord's `len(VideoReader)`) */
  frames: number;
  seconds: number;
}

/** Runs a tool; its stdout goes to `onData` (or is collected, at most `maxBytes`), stderr is kept for errors. */
function run(
  command: string,
  args: string[],
  options: { timeoutMs: number; maxBytes: number; onData?: (chunk: Buffer) => void },
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let failure: Error | undefined;
    const stop = (err: Error) => {
      failure ??= err;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => stop(invalidInput(`video: decoding took longer than ${options.timeoutMs / 1000} s`)), options.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      if (options.onData) {
        try {
          options.onData(chunk);
        } catch (err) {
          stop(err as Error);
        }
        return;
      }
      size += chunk.length;
      if (size > options.maxBytes) stop(new Error(`${command} wrote more than ${options.maxBytes} bytes`));
      else chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString();
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        missing ? new Error(`${command} is not installed: video pipelines need Debian's ffmpeg package (apt-get install ffmpeg)`) : err,
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (failure) reject(failure);
      else resolve({ code, stdout: Buffer.concat(chunks), stderr: stderr.trim() });
    });
  });
}

function unreadable(stderr: string): Error {
  const reason = stderr.split('\n').at(-1) || 'no video stream found';
  return invalidInput(`video: the file cannot be read as a video (${reason.replace(/^.*?: /, '')})`);
}

/** Size, frame count and duration of the first video stream, checked against the limits. */
export async function probeVideo(file: string, limits: VideoLimits): Promise<VideoInfo> {
  const args = [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_packets',
    '-show_entries',
    'stream=width,height,nb_read_packets,duration:format=duration',
    '-of',
    'json',
    file,
  ];
  const { code, stdout, stderr } = await run('ffprobe', args, { timeoutMs: limits.timeoutMs, maxBytes: 1 << 16 });
  const parsed = code === 0 ? JSON.parse(stdout.toString() || '{}') : {};
  const stream = parsed.streams?.[0];
  if (!stream) throw unreadable(stderr);
  const info: VideoInfo = {
    width: Number(stream.width),
    height: Number(stream.height),
    frames: Number(stream.nb_read_packets),
    seconds: Number(stream.duration ?? parsed.format?.duration ?? 0) || 0,
  };
  if (!(info.width > 0 && info.height > 0 && info.frames > 0)) throw invalidInput('video: the file holds no video frames');
  if (info.seconds > limits.maxSeconds)
    throw invalidInput(`video: it lasts ${info.seconds.toFixed(1)} s; at most ${limits.maxSeconds} s are accepted`);
  if (info.frames > limits.maxFrames) throw invalidInput(`video: it has ${info.frames} frames; at most ${limits.maxFrames} are accepted`);
  return info;
}

/**
 * Decodes frames `indices` (ascending, distinct; all frames when omitted) as RGB images and hands
 * each to `onFrame` in order; returns how many were decoded (fewer when the file ends early).
 */
export async function decodeFrames(
  file: string,
  info: VideoInfo,
  limits: VideoLimits,
  onFrame: (frame: RgbImage, index: number) => void,
  indices?: readonly number[],
): Promise<number> {
  const frameBytes = info.width * info.height * 3;
  const select = indices ? ['-vf', `select='${indices.map((i) => `eq(n\\,${i})`).join('+')}'`] : [];
  const args = [
    '-v',
    'error',
    '-nostdin',
    '-threads',
    '1',
    '-i',
    file,
    '-map',
    '0:v:0',
    ...select,
    '-fps_mode',
    'passthrough',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ];
  let pending: Buffer = Buffer.alloc(0);
  let decoded = 0;
  const wanted = indices?.length ?? info.frames;
  const { code, stderr } = await run('ffmpeg', args, {
    timeoutMs: limits.timeoutMs,
    maxBytes: 0,
    onData: (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= frameBytes) {
        if (decoded >= wanted) throw invalidInput(`video: it decodes to more frames than its index lists (${info.frames})`);
        const data = new Uint8Array(pending.subarray(0, frameBytes));
        onFrame({ width: info.width, height: info.height, data }, indices ? indices[decoded]! : decoded);
        decoded++;
        pending = pending.subarray(frameBytes);
      }
    },
  });
  if (decoded === 0) throw code === 0 ? invalidInput('video: no frame could be decoded') : unreadable(stderr);
  return decoded;
}

/**
 * `fn` on the bytes written to a temporary file named with `extension` (ffmpeg reads containers
 * such as MP4 by seeking, which a pipe cannot), removed afterwards, as PaddleX's apps do.
 */
export async function withTempVideoFile<T>(bytes: Uint8Array, extension: string, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-video-'));
  const file = path.join(dir, `input.${extension.replace(/[^a-z0-9]/gi, '')}`);
  try {
    await writeFile(file, bytes);
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
