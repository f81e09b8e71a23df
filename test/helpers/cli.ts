import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';
import { CLI } from './paths.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the real `pipeserve` binary to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pipeserve ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** server.sh's (Triton's) flags for the three ports, on loopback. */
export function tritonPortArgs(ports: { http: number; grpc: number; metrics: number }): string[] {
  return [
    '--http-port',
    String(ports.http),
    '--grpc-port',
    String(ports.grpc),
    '--metrics-port',
    String(ports.metrics),
    '--host',
    '127.0.0.1',
  ];
}

export interface ServerProcess {
  url: string;
  child: ChildProcessWithoutNullStreams;
  /** everything the server wrote to stderr so far */
  log(): string;
  /** resolves when a line matching `pattern` has been logged */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** `pipeserve --serve ...` as a child process, resolved once it listens. */
export async function startServerProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, '--serve', '--host', '127.0.0.1', '--port', String(port), ...args], {
    env: { ...process.env, ...env },
  });
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stderr.on('data', (d) => {
    stderr += d;
    waiters.forEach((w) => w());
  });
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitForLog = (pattern: RegExp, timeoutMs = 120_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(stderr)) resolve();
      };
      waiters.push(check);
      check();
      setTimeout(() => reject(new Error(`server log never matched ${pattern}:\n${stderr}`)), timeoutMs).unref();
      void exited.then((code) => {
        if (!pattern.test(stderr)) reject(new Error(`server exited (${code}) before logging ${pattern}:\n${stderr}`));
      });
    });
  await waitForLog(/running on http:\/\//);
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    log: () => stderr,
    waitForLog,
    exited,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
