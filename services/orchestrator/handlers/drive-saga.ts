import type { MessageOf, OrderflowMessage } from '@orderflow/contracts';
import type { Cause, EventFactory, EventHandlers } from '@orderflow/platform';
import type { Kysely } from 'kysely';
import { type CommandDraft, type SagaContext, type SagaMessage, decideSaga } from '../domain/saga.ts';
import { loadSaga, saveSaga } from '../store/saga-store.ts';
import type { OrchestratorDatabase, OrchestratorTables } from '../store/schema.ts';

export interface SagaDeps {
  events: EventFactory;
  now: () => Date;
  stepTimeoutMs: number;
  maxAttempts: number;
}

type SagaInput = MessageOf<
  'OrderCreated' | 'InventoryConfirmed' | 'InventoryRejected' | 'PaymentCompleted' | 'PaymentFailed' | 'Shipped' | 'ShipmentFailed' | 'NotificationSent' | 'OrderCancelled'
>;

const toCommand = (events: EventFactory, orderId: string, draft: CommandDraft, cause: Cause | undefined): OrderflowMessage =>
  // The draft's type and data are paired by CommandDraft; the factory takes them as one.
  events.create(draft.type, orderId, draft.data as never, cause);

/** Loads the saga, decides, saves it and returns its commands: one transaction with the caller's inbox and outbox. */
export async function stepSaga(
  trx: Kysely<OrchestratorDatabase>,
  deps: SagaDeps,
  orderId: string,
  message: SagaMessage,
  now: Date,
  cause?: Cause,
): Promise<OrderflowMessage[]> {
  const stored = await loadSaga(trx, orderId);
  const ctx: SagaContext = { now, stepTimeoutMs: deps.stepTimeoutMs, maxAttempts: deps.maxAttempts };
  const decision = decideSaga(stored?.saga, orderId, message, ctx);
  if (!decision.saga || decision.saga === stored?.saga) return [];
  await saveSaga(trx, decision.saga, stored?.version, deps.now().toISOString());
  return decision.commands.map((draft) => toCommand(deps.events, orderId, draft, cause));
}

/** Every fact the saga listens to, handled the same way: into the decider, commands out. */
export function driveSaga(deps: SagaDeps): EventHandlers<OrchestratorTables> {
  const handle = async (event: SagaInput, trx: Kysely<OrchestratorDatabase>) =>
    stepSaga(trx, deps, event.orderId!, event as SagaMessage, new Date(event.occurredAt), event);
  return {
    OrderCreated: handle,
    InventoryConfirmed: handle,
    InventoryRejected: handle,
    PaymentCompleted: handle,
    PaymentFailed: handle,
    Shipped: handle,
    ShipmentFailed: handle,
    NotificationSent: handle,
    OrderCancelled: handle,
  };
}
