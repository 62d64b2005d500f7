import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStatusService } from '@orderflow/status';
import { type Config, type DevIssuer, type Logger, createRootLogger, loadConfig, startDevIssuer } from '@orderflow/platform';
import { type BrowserContext, chromium } from 'playwright-core';
import { freePort } from '../../apps/orderflow/src/cluster.ts';
import { type RunningSystem, startSystem } from '../../apps/orderflow/src/system.ts';
import { type RunningWebUi, startWebUi, webUiEnv } from '../../apps/orderflow/src/web-ui.ts';

export const CHROMIUM = '/usr/bin/chromium';

export interface UiTestSystem {
  system: RunningSystem;
  config: Config;
  logger: Logger;
  web: RunningWebUi;
  /** Stops the status service (its WebSockets close) and starts a fresh one on the same port, rebuilt from the log. */
  stopStatus(): Promise<void>;
  startStatus(): Promise<void>;
  stop(): Promise<void>;
}

/** Every service in this process on free ports, plus the built web UI (`next start`) pointed at them. */
export async function startUiTestSystem(env: Record<string, string> = {}): Promise<UiTestSystem> {
  // As npm start: a development issuer the services trust and the UI's development sign-in asks.
  const issuer: DevIssuer = await startDevIssuer({ dataDir: ':memory:', host: '127.0.0.1', port: 0 });
  // The UI's port before the services start: their allowed origins (ALLOWED_ORIGINS's default) follow FRONTEND_PORT.
  const webPort = await freePort();
  const config = loadConfig({
    AUTH_ISSUER: issuer.url,
    FRONTEND_PORT: String(webPort),
    DATA_DIR: ':memory:',
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
    LOG_FORMAT: 'json',
    SHIPPING_FAILURE_RATE: '0',
    HANDLER_RETRY_BACKOFF_MS: '20',
    ...env,
  });
  const logger = createRootLogger(config);
  const system = await startSystem(config, logger, { freePorts: true });
  const statusPort = Number(new URL(system.urls.status!).port);
  let web: RunningWebUi;
  try {
    web = await startWebUi({ port: webPort, env: { ...webUiEnv(system.urls), DEV_ISSUER_URL: issuer.url }, logger });
  } catch (error) {
    await system.stop();
    await issuer.stop();
    throw error;
  }
  return {
    system,
    config,
    logger,
    web,
    async stopStatus() {
      await system.services.status?.stop();
    },
    async startStatus() {
      system.services.status = await startStatusService({ config, bus: system.bus, logger, port: statusPort });
    },
    async stop() {
      await web.stop();
      await system.stop();
      await issuer.stop();
    },
  };
}

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Debian's Chromium, headless, with a fresh profile and nothing that talks to the internet by itself. */
export async function launchBrowser(options: { viewport?: { width: number; height: number } } = {}): Promise<TestBrowser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'orderflow-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: options.viewport ?? { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

export async function placeOrderApi(orderUrl: string, items: { productId: string; quantity: number }[], customerId = 'customer-api') {
  const response = await fetch(`${orderUrl}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ customerId, items }),
  });
  const body = (await response.json()) as { orderId: string; status: string };
  if (response.status !== 202) throw new Error(`order refused: ${response.status} ${JSON.stringify(body)}`);
  return body;
}
