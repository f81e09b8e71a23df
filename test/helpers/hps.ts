/** Starting a generated HPS SDK through its server.sh on free ports, as a user would. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, tritonPortArgs } from './cli.js';

export interface SdkServer {
  child: ChildProcess;
  ports: { http: number; grpc: number; metrics: number };
  http: string;
  grpc: string;
  /** the server's stderr so far */
  log(): string;
  stop(): Promise<void>;
}

/** Runs `<sdk>/server/server.sh` on free ports (CPU configs unless `env` says otherwise) and waits until all three ports listen. */
export async function startSdkServer(sdk: string, env: NodeJS.ProcessEnv = {}): Promise<SdkServer> {
  const ports = { http: await freePort(), grpc: await freePort(), metrics: await freePort() };
  const child = spawn('bash', [`${sdk}/server/server.sh`, ...tritonPortArgs(ports)], {
    env: { ...process.env, PADDLEX_HPS_DEVICE_TYPE: 'cpu', ...env },
  });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  child.stdout!.resume();
  for (let i = 0; i < 240 && !/Started Metrics Service/.test(log); i++) {
    if (child.exitCode !== null) throw new Error(`server.sh exited:\n${log}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  if (!/Started Metrics Service/.test(log)) throw new Error(`server.sh did not start in 2 minutes:\n${log}`);
  return {
    child,
    ports,
    http: `http://127.0.0.1:${ports.http}`,
    grpc: `127.0.0.1:${ports.grpc}`,
    log: () => log,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** One metric's value for a model, from Triton's Prometheus text. */
export async function modelMetric(server: SdkServer, name: string, model: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${server.ports.metrics}/metrics`)).text();
  const line = new RegExp(`^${name}\\{model="${model}",version="1"\\} (\\S+)$`, 'm').exec(text);
  if (!line) throw new Error(`no ${name} for ${model} in:\n${text}`);
  return Number(line[1]);
}

/** Runs the SDK's client.mjs in a fresh directory: exit code, stdout, stderr and that directory. */
export async function runSdkClient(
  sdk: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string; cwd: string }> {
  const cwd = await mkdtemp(path.join(os.tmpdir(), 'hps-client-'));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(sdk, 'client', 'client.mjs'), ...args], { cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr, cwd }));
  });
}
