import { rmSync, writeFileSync } from 'node:fs';
import { createRootLogger, describeAuth, exitOnStopSignals, loadConfig, startTelemetry } from '@orderflow/platform';
import { signInHelp, startDevelopmentIssuerIfNeeded } from './development-issuer.ts';
import { startSystem } from './system.ts';
import { startThreadedSystem, threadServices } from './threaded-system.ts';
import type { ServiceThread } from './service-thread-spawn.ts';
import { type RunningWebUi, startWebUiBesideServices } from './web-ui.ts';

/**
 * Every service in this process (npm start), its services spread over this thread and
 * serviceThread when THREAD_SERVICES says so: prints where they listen, then runs until
 * SIGINT or SIGTERM stops them cleanly.
 */
export async function runOrderflowProcess(serviceThread?: ServiceThread): Promise<void> {
  // First: spans need the SDK registered before any is made (nothing loads without OTEL_EXPORTER_OTLP_ENDPOINT).
  await startTelemetry();
  const startedAt = performance.now();
  const configured = (() => {
    try {
      return loadConfig();
    } catch (error) {
      // A configuration problem names its variable: the message is the whole story, not a stack.
      process.stderr.write(`orderflow could not start: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    }
  })();
  const logger = createRootLogger(configured);
  const { config, issuer } = await startDevelopmentIssuerIfNeeded(configured).catch((error: unknown) => {
    logger.fatal({ err: error }, `orderflow could not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
  const system = await (async () => {
    const threaded = threadServices(config);
    if (threaded.length > 0) return startThreadedSystem(config, logger, threaded, { thread: serviceThread });
    await serviceThread?.worker.terminate();
    return startSystem(config, logger);
  })().catch((error: unknown) => {
    logger.fatal({ err: error }, `orderflow could not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(2);

  const broker = config.bus.kind === 'embedded' ? `embedded broker in ${config.dataDir}` : `${config.bus.kind} broker`;
  const databases = config.database.url ? 'PostgreSQL' : `SQLite in ${config.dataDir}`;
  const lines = [
    '',
    `orderflow is running: ${broker}, ${databases}, ${config.sagaMode} saga; services ready in ${seconds}s`,
    `${describeAuth(config.auth)}`,
    '',
    ...Object.entries(system.urls)
      .sort(([a], [b]) => config.ports[a as keyof typeof config.ports] - config.ports[b as keyof typeof config.ports])
      .map(([name, url]) => `  ${name.padEnd(13)} ${url}   docs: ${url}/docs`),
    '',
    `  try: curl -s -X POST ${system.urls.order}/orders -H 'content-type: application/json' \\`,
    `         -d '{"customerId":"c-1","items":[{"productId":"product-1","quantity":2}]}'`,
    '',
    ...signInHelp(config, issuer),
    '',
    'Ctrl+C stops cleanly; data is kept (npm run reset removes it).',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  // make run-local asks for a pid file, so that make stop-local signals this process (not npm).
  const pidFile = process.env.ORDERFLOW_PID_FILE;
  if (pidFile) writeFileSync(pidFile, `${process.pid}\n`);

  // Started by the benchmark (a parent process with an IPC channel): report the URLs, and
  // peak memory when asked.
  if (process.send) {
    process.send({ type: 'ready', urls: system.urls });
    process.on('message', (message: { type?: string }) => {
      if (message?.type === 'stats') process.send?.({ type: 'stats', maxRssKiB: process.resourceUsage().maxRSS });
    });
  }

  // In place before the web UI starts: its first start builds it for a minute, and Ctrl+C
  // meanwhile must stop the services cleanly too (the build goes with this process).
  let web: RunningWebUi | undefined;
  exitOnStopSignals(async (reason) => {
    logger.info({ reason }, 'stopping: finishing in-flight work');
    await web?.stop();
    await system.stop();
    await issuer?.stop();
    if (pidFile) rmSync(pidFile, { force: true });
    logger.info('stopped');
    return 0;
  });

  web = await startWebUiBesideServices({ env: process.env, port: config.ports.web, hostname: config.host, urls: system.urls, devIssuerUrl: issuer?.url, logger });
}
