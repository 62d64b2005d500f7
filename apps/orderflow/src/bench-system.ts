import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { SERVICE_PORTS } from '@orderflow/platform';
import { startCluster } from './cluster.ts';

/** The system a benchmark runs against, in child processes of its own. */
export interface BenchSystem {
  /** Service name → base URL. */
  urls: Record<string, string>;
  /** Process id of each process: `system` for the single process, else the service's name. */
  pids(): Record<string, number>;
  /** Sum of each process's peak resident memory. */
  peakRssMiB(): Promise<number>;
  stop(): Promise<void>;
}

export type BenchProcesses = 'single' | 'cluster';

/** Every service in one child process (start.ts, as npm start), or one process per service (as npm run start:cluster). */
export function startBenchSystem(processes: BenchProcesses, env: Record<string, string>, readyTimeoutMs = 60_000): Promise<BenchSystem> {
  return processes === 'cluster' ? startMultiProcess(env, readyTimeoutMs) : startSingle(env);
}

/** Every service in one child process, as npm start runs them (bundled first), which reports its URLs and peak memory over IPC. */
async function startSingle(env: Record<string, string>): Promise<BenchSystem> {
  const freePorts = Object.fromEntries(Object.values(SERVICE_PORTS).map((s) => [s.variable, '0']));
  const child = fork(new URL('../start-bundled.mjs', import.meta.url).pathname, [], {
    execArgv: ['--max-semi-space-size=32', ...(process.env.BENCH_SYSTEM_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)],
    env: { ...process.env, ...freePorts, ...env, WEB_UI: 'off' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const urls = await new Promise<Record<string, string>>((resolve, reject) => {
    child.once('message', (message: { type: string; urls: Record<string, string> }) => resolve(message.urls));
    child.once('exit', (code) => reject(new Error(`the system exited with code ${code} before it was ready`)));
  });
  return {
    urls,
    pids: (): Record<string, number> => (child.pid ? { system: child.pid } : {}),
    peakRssMiB: () =>
      new Promise<number>((resolve) => {
        child.once('message', (message: { maxRssKiB: number }) => resolve(message.maxRssKiB / 1024));
        child.send({ type: 'stats' });
      }),
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** One process per service; peak memory is the sum of each one's high-water mark. */
async function startMultiProcess(env: Record<string, string>, readyTimeoutMs: number): Promise<BenchSystem> {
  const cluster = await startCluster({ env: { ...env, WEB_UI: 'off' }, ports: 'free', output: () => undefined, readyTimeoutMs });
  const pids = () => Object.fromEntries(Object.entries(cluster.pids()).flatMap(([name, pid]) => (pid ? [[name, pid]] : [])));
  return {
    urls: cluster.urls,
    pids,
    async peakRssMiB() {
      let kib = 0;
      for (const pid of Object.values(pids())) kib += memoryKiB(pid, 'VmHWM');
      return kib / 1024;
    },
    stop: () => cluster.stop(),
  };
}

/** A line of /proc/<pid>/status in KiB: VmRSS (resident now) or VmHWM (its peak); 0 once the process is gone. */
export function memoryKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Polls every service's /ready until all answer 200. */
export async function waitUntilAllReady(urls: Record<string, string>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const pending = new Set(Object.values(urls));
  while (pending.size > 0) {
    for (const url of [...pending]) {
      const ready = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.ok, () => false);
      if (ready) pending.delete(url);
    }
    if (pending.size === 0) return;
    if (performance.now() > deadline) throw new Error(`not ready in ${timeoutMs / 1000}s: ${[...pending].join(', ')}`);
    await sleep(20);
  }
}

/**
 * A request over a keep-alive connection with node:http: about half the CPU of fetch per
 * request, which matters because this client shares the machine with the system it measures.
 */
const keepAlive = new Agent({ keepAlive: true, maxSockets: 256 });
export function callSystem(method: 'GET' | 'POST', url: string, token: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { authorization: `Bearer ${token}` };
    if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    const req = httpRequest(url, { method, agent: keepAlive, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A figure as the benchmark prints it: two decimals. */
export const round = (value: number): number => Number(value.toFixed(2));

/** The p-th percentile of durations sorted ascending (NaN when there are none). */
export const percentileOf = (sorted: readonly number[], p: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : Number.NaN;
