import { COMMAND_TOPIC, Header, deadLetterTopic } from '@orderflow/contracts';
import { type BusRecord, type ServiceRuntime, appendToOutbox, parseRecord } from '@orderflow/platform';
import { STEPS } from '../domain/saga.ts';
import type { OrchestratorTables } from '../store/schema.ts';
import { type SagaDeps, stepSaga } from './drive-saga.ts';

/** The dead-letter topics of the commands that invoke a step: the only ones a saga waits on. */
export const INVOKE_DEAD_LETTER_TOPICS = [...new Set(STEPS.map((step) => deadLetterTopic(COMMAND_TOPIC[step.invoke])))];

/** The dead-lettered command in a dead-letter record, or undefined when it is not one (nothing a saga waits on). */
function deadLetteredCommand(record: BusRecord) {
  let message;
  try {
    message = parseRecord(record);
  } catch {
    return undefined; // a record dead-lettered for being unparseable: it never reached a handler
  }
  const step = STEPS.find((s) => s.invoke === message?.type);
  if (!message?.orderId || !step) return undefined;
  return {
    orderId: message.orderId,
    data: {
      command: step.invoke,
      consumerGroup: record.headers[Header.dltConsumerGroup] ?? 'unknown',
      attempts: Number(record.headers[Header.dltAttempts] ?? 0),
      error: (record.headers[Header.dltError] ?? 'unknown error').slice(0, 300),
    },
  };
}

/**
 * Reads the dead letters of the step commands this orchestrator sends: a participant
 * whose handler kept failing answered, in effect, "an operator must look at this". The
 * saga then stops waiting for a timeout (see decideSaga), as the choreography's order
 * waits on its dead-lettered event, instead of sending the command again (one more
 * dead letter each time) and, after the last attempt, failing the order as if the step
 * had said no.
 */
export function watchDeadLetteredCommands(runtime: ServiceRuntime<OrchestratorTables>, deps: SagaDeps) {
  return runtime.bus.subscribe({
    group: 'orchestrator-dead-letters',
    topics: INVOKE_DEAD_LETTER_TOPICS,
    handle: async (record) => {
      const dead = deadLetteredCommand(record);
      if (!dead) return;
      await runtime.db.transaction().execute(async (trx) =>
        appendToOutbox(trx, await stepSaga(trx, deps, dead.orderId, { type: 'CommandDeadLettered', data: dead.data }, deps.now())),
      );
    },
  });
}
