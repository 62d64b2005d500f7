import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OrderView, StatusSocketMessage } from '@orderflow/contracts';
import { createRootLogger, loadConfig } from '@orderflow/platform';
import WebSocket from 'ws';
import { type RunningSystem, startSystem } from '../../apps/orderflow/src/system.ts';

/** The saga mode of this run (the vitest project sets SAGA_MODE). */
export const sagaMode = process.env.SAGA_MODE === 'orchestration' ? 'orchestration' : 'choreography';

export interface TestSystem {
  system: RunningSystem;
  urls: Record<string, string>;
  dataDir: string;
  /** Stops every service gracefully and starts them again on the same data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The whole system in this process on free ports, with its own data. Shipping never
 * fails at random here (tests use the deterministic triggers) and retries are quick.
 */
export async function startTestSystem(env: Record<string, string> = {}, options: { persistent?: boolean } = {}): Promise<TestSystem> {
  const dataDir = options.persistent ? mkdtempSync(join(tmpdir(), 'orderflow-e2e-')) : ':memory:';
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
    LOG_FORMAT: 'json',
    SHIPPING_FAILURE_RATE: '0',
    HANDLER_RETRY_BACKOFF_MS: '20',
    SAGA_MODE: sagaMode,
    ...env,
  });
  const logger = createRootLogger(config);
  const handle: TestSystem = {
    system: await startSystem(config, logger, { freePorts: true }),
    urls: {},
    dataDir,
    async restart() {
      await handle.system.stop();
      handle.system = await startSystem(config, logger, { freePorts: true });
      handle.urls = handle.system.urls;
    },
    async stop() {
      await handle.system.stop();
      if (dataDir !== ':memory:') rmSync(dataDir, { recursive: true, force: true });
    },
  };
  handle.urls = handle.system.urls;
  return handle;
}

export interface HttpResult<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export async function request<T = any>(url: string, init: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<HttpResult<T>> {
  const hasBody = init.body !== undefined || init.raw !== undefined;
  const response = await fetch(url, {
    method: init.method ?? (hasBody ? 'POST' : 'GET'),
    headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...init.headers },
    body: init.raw ?? (init.body !== undefined ? JSON.stringify(init.body) : undefined),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: body as T, headers: response.headers };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until check returns a value, or fails with what it last saw. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(20);
  }
}

export const TERMINAL = ['COMPLETED', 'CANCELLED_NO_STOCK', 'PAYMENT_FAILED', 'SHIPMENT_FAILED', 'CANCELLED'];

export async function placeOrder(urls: Record<string, string>, body: unknown, path = '/orders', headers: Record<string, string> = {}) {
  return request<{ orderId: string; status: string; total: number; error?: string; message?: string }>(`${urls.order}${path}`, { body, headers });
}

/** The status service's view of an order once it satisfies the predicate. */
export async function waitForView(urls: Record<string, string>, orderId: string, predicate: (view: OrderView) => boolean, what = 'order view') {
  return eventually(async () => {
    const result = await request<OrderView>(`${urls.status}/status/${orderId}`);
    return result.status === 200 && predicate(result.body) ? result.body : undefined;
  }, `${what} of ${orderId}`);
}

export const waitForTerminal = (urls: Record<string, string>, orderId: string) =>
  waitForView(urls, orderId, (v) => TERMINAL.includes(v.status), 'a terminal status');

export async function stockOf(urls: Record<string, string>, productId: string): Promise<number> {
  const result = await request<{ available: number }>(`${urls.inventory}/inventory/${productId}`);
  return result.body.available;
}

/** A WebSocket client that records every message. */
export async function openSocket(url: string) {
  const socket = new WebSocket(url);
  const messages: StatusSocketMessage[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data)) as StatusSocketMessage));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    messages,
    async waitFor(predicate: (message: StatusSocketMessage) => boolean, what: string) {
      return eventually(async () => messages.find(predicate), what);
    },
    close: () => socket.close(),
  };
}
