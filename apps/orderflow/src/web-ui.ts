import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@orderflow/platform';

/** The Next.js app (apps/web) and its production build. */
export const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));
const BUILD_ID = join(WEB_DIR, '.next', 'BUILD_ID');
/** What the build is made from: a build older than any of these is rebuilt. */
const SOURCES = ['app', 'components', 'lib', 'proxy.ts', 'next.config.ts', 'postcss.config.mjs', 'package.json', 'tsconfig.json'];

const nextBin = () => createRequire(join(WEB_DIR, 'package.json')).resolve('next/dist/bin/next');

/** Next must not phone home, and a test runner's NODE_ENV must not leak into the production build or server. */
function childEnv(env: Record<string, string | undefined>) {
  const merged: Record<string, string | undefined> = { ...process.env, ...env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' };
  // The UI reads the catalog for product names; its working directory is apps/web, not ours.
  if (merged.CATALOG_FILE) merged.CATALOG_FILE = resolve(merged.CATALOG_FILE);
  return merged;
}

/** The environment that points the UI's server at the services (it proxies /api/<service>/... to them). */
export function webUiEnv(urls: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, url] of Object.entries(urls)) env[`${name.toUpperCase()}_SERVICE_URL`] = url;
  return env;
}

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

/** True when there is no production build, or a source file changed after it was made. */
export function webUiNeedsBuild(): boolean {
  if (!existsSync(BUILD_ID)) return true;
  const builtAt = statSync(BUILD_ID).mtimeMs;
  return SOURCES.some((source) => newestMtime(join(WEB_DIR, source)) > builtAt);
}

const print = (line: string) => process.stdout.write(`${line}\n`);

/** Ends the child when this process exits (a Ctrl+C, a crash) before it is done with it; returns what lets it go. */
function endsWithThisProcess(child: ChildProcess): () => void {
  const kill = () => child.kill('SIGTERM');
  process.once('exit', kill);
  return () => process.off('exit', kill);
}

/** `next build` in apps/web, its output passed through line by line as progress. */
export async function buildWebUi(options: { progress?: (line: string) => void } = {}): Promise<void> {
  const progress = options.progress ?? print;
  const startedAt = performance.now();
  progress('web UI: building apps/web for production (only when the build is missing or stale; this takes a minute)...');
  const child = spawn(process.execPath, [nextBin(), 'build'], { cwd: WEB_DIR, env: childEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      if (line.trim() !== '') progress(`  [web build] ${line}`);
    });
  }
  // Ctrl+C during a first start: the build goes with this process.
  const release = endsWithThisProcess(child);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  }).finally(release);
  if (code !== 0) throw new Error(`web UI: next build failed with exit code ${code}`);
  progress(`web UI: built in ${((performance.now() - startedAt) / 1000).toFixed(1)}s`);
}

export interface RunningWebUi {
  url: string;
  stop(): Promise<void>;
}

async function waitUntilAnswering(url: string, child: ChildProcess, output: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  for (;;) {
    if (exited !== undefined) throw new Error(`web UI: next start exited with code ${exited}:\n${output.slice(-20).join('\n')}`);
    try {
      const response = await fetch(`${url}/api/config`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`web UI: no answer from ${url} within ${timeoutMs} ms:\n${output.slice(-20).join('\n')}`);
    await sleep(200);
  }
}

/**
 * The web UI as a child process (`next start`), built first if needed. `env` carries
 * the service addresses (see webUiEnv); resolves once the UI answers.
 */
export async function startWebUi(options: {
  port: number;
  env: Record<string, string>;
  logger: Logger;
  hostname?: string;
  timeoutMs?: number;
}): Promise<RunningWebUi> {
  const { port, env, logger } = options;
  const hostname = options.hostname ?? '127.0.0.1';
  if (webUiNeedsBuild()) await buildWebUi();
  const child = spawn(process.execPath, [nextBin(), 'start', '-p', String(port), '-H', hostname], {
    cwd: WEB_DIR,
    env: childEnv({ ...env, PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      if (output.length > 200) output.shift();
      if (/error/i.test(line)) logger.warn({ service: 'web' }, line);
      else logger.debug({ service: 'web' }, line);
    });
  }
  // If this process dies without stop(), the UI goes with it.
  const release = endsWithThisProcess(child);
  const shownHost = hostname === '0.0.0.0' || hostname === '::' ? '127.0.0.1' : hostname;
  const url = `http://${shownHost}:${port}`;
  const stop = async () => {
    release();
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitUntilAnswering(url, child, output, options.timeoutMs ?? 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  logger.info({ service: 'web', url }, 'web UI listening');
  return { url, stop };
}

/**
 * The UI of `npm start` and `npm run start:cluster`: started after the services, which are
 * usable meanwhile (its first start builds it), left out with WEB_UI=off (the benchmark,
 * headless servers). A UI that does not start leaves the services running.
 */
export async function startWebUiBesideServices(options: {
  env: NodeJS.ProcessEnv;
  port: number;
  hostname: string;
  urls: Record<string, string>;
  /** The development issuer the UI's development sign-in asks for tokens (only when one runs). */
  devIssuerUrl?: string | undefined;
  logger: Logger;
}): Promise<RunningWebUi | undefined> {
  if (options.env.WEB_UI === 'off') return undefined;
  const env = { ...webUiEnv(options.urls), ...(options.devIssuerUrl ? { DEV_ISSUER_URL: options.devIssuerUrl } : {}) };
  const web = await startWebUi({ port: options.port, hostname: options.hostname, env, logger: options.logger }).catch((error: unknown) => {
    options.logger.error({ err: error }, 'the web UI did not start; the services keep running');
    return undefined;
  });
  if (web) process.stdout.write(`\n  web UI        ${web.url}\n\n`);
  return web;
}
