import { type ServiceOptions, isEntryPoint, runStandalone, serveHttp, startServiceRuntime } from '@orderflow/platform';
import { STEPS } from './domain/saga.ts';
import { watchDeadLetteredCommands } from './handlers/dead-letters.ts';
import { driveSaga } from './handlers/drive-saga.ts';
import { startStepTimeouts } from './handlers/step-timeouts.ts';
import { registerSagaRoutes } from './http/routes.ts';
import { type OrchestratorTables, orchestratorMigrations } from './store/schema.ts';

export async function startOrchestratorService(options: ServiceOptions) {
  const { config } = options;
  const runtime = await startServiceRuntime<OrchestratorTables>({ service: 'orchestrator', migrations: orchestratorMigrations, ...options });
  const deps = {
    events: runtime.events,
    now: () => runtime.clock.now(),
    stepTimeoutMs: config.sagaStepTimeoutMs,
    maxAttempts: config.sagaStepMaxAttempts,
  };
  await runtime.consume('orchestrator', driveSaga(deps));
  const deadLetters = await watchDeadLetteredCommands(runtime, deps);
  const timeouts = startStepTimeouts(runtime.db, deps, runtime.relay, runtime.logger, Math.min(1_000, config.sagaStepTimeoutMs / 4));
  const service = await serveHttp(runtime, { description: 'Drives each order saga with commands (SAGA_MODE=orchestration, document 004).', port: options.port }, (app) =>
    registerSagaRoutes(app, { db: runtime.db, stepName: (index) => STEPS[index]?.name ?? 'unknown' }),
  );
  return {
    ...service,
    async stop() {
      await deadLetters.close();
      await timeouts.stop();
      await service.stop();
    },
  };
}

if (isEntryPoint(import.meta.url)) await runStandalone(startOrchestratorService);
