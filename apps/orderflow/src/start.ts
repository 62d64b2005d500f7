import { rmSync, writeFileSync } from 'node:fs';
import { createRootLogger, loadConfig } from '@orderflow/platform';
import { startSystem } from './system.ts';

const startedAt = performance.now();
const config = loadConfig();
const logger = createRootLogger(config);
const system = await startSystem(config, logger).catch((error: unknown) => {
  logger.fatal({ err: error }, `orderflow could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
const seconds = ((performance.now() - startedAt) / 1000).toFixed(2);

const lines = [
  '',
  `orderflow is running (embedded broker and databases in ${config.dataDir}, started in ${seconds}s)`,
  '',
  ...Object.entries(system.urls)
    .sort(([a], [b]) => config.ports[a as keyof typeof config.ports] - config.ports[b as keyof typeof config.ports])
    .map(([name, url]) => `  ${name.padEnd(13)} ${url}   docs: ${url}/docs`),
  '',
  `  try: curl -s -X POST ${system.urls.order}/orders -H 'content-type: application/json' \\`,
  `         -d '{"customerId":"c-1","items":[{"productId":"product-1","quantity":2}]}'`,
  '',
  'Ctrl+C stops cleanly; data is kept (npm run reset removes it).',
  '',
];
process.stdout.write(`${lines.join('\n')}\n`);

// make run-local asks for a pid file, so that make stop-local signals this process (not npm).
const pidFile = process.env.ORDERFLOW_PID_FILE;
if (pidFile) writeFileSync(pidFile, `${process.pid}\n`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping: finishing in-flight work');
  await system.stop();
  if (pidFile) rmSync(pidFile, { force: true });
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
