import { type OutboxRelay, appendToOutbox } from '@orderflow/platform';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { dueSagas } from '../store/saga-store.ts';
import type { OrchestratorDatabase } from '../store/schema.ts';
import { type SagaDeps, stepSaga } from './drive-saga.ts';

/**
 * Every interval, each saga whose awaited step is past its deadline gets a
 * StepTimedOut: sent again, or, after the last attempt, compensated. Deadlines are in
 * the database, so a restarted orchestrator picks up where the old one left off.
 */
export function startStepTimeouts(db: Kysely<OrchestratorDatabase>, deps: SagaDeps, relay: OutboxRelay, logger: Logger, intervalMs: number) {
  let sweeping: Promise<void> | null = null;
  const sweep = async () => {
    const now = deps.now();
    for (const orderId of await dueSagas(db, now.toISOString(), 100)) {
      try {
        await db.transaction().execute(async (trx) => appendToOutbox(trx, await stepSaga(trx, deps, orderId, { type: 'StepTimedOut' }, now)));
      } catch (error) {
        logger.warn({ orderId, err: error }, 'saga timeout could not be handled; next sweep retries');
      }
    }
    relay.wake();
  };
  const timer = setInterval(() => {
    sweeping ??= sweep()
      .catch((error: unknown) => logger.warn({ err: error }, 'saga timeout sweep failed'))
      .finally(() => {
        sweeping = null;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await sweeping;
    },
  };
}
