import type { CommandType, EventDataOf, FailedOrderStatus, MessageDataOf, OrderLine } from '@orderflow/contracts';

/**
 * The order saga of document 004 as a decider: messages in, commands out, state
 * persisted by the caller with the commands (outbox), so a restart resumes every saga.
 *
 * | step      | invoke                          | on success         | on failure         | compensate       |
 * |-----------|---------------------------------|--------------------|--------------------|------------------|
 * | inventory | ReserveInventory                | InventoryConfirmed | InventoryRejected  | ReleaseInventory |
 * | payment   | ProcessPayment                  | PaymentCompleted   | PaymentFailed      | RefundPayment    |
 * | shipping  | CreateShipment (+SendNotification) | Shipped → CompleteOrder | ShipmentFailed | CancelShipment |
 *
 * A failure compensates the steps before it in reverse order and sends CancelOrder with
 * the failure's status. A customer's cancellation (OrderCancelled with status CANCELLED)
 * compensates every step already invoked, even after the saga completed (the cancel
 * reached the order before CompleteOrder did): a shipment made is then voided. A step
 * with no answer within the timeout is sent again; after the last attempt the saga
 * fails as that step would, and that step is compensated too (it may still act).
 *
 * A step whose command was dead-lettered (the participant's handler kept failing: an
 * exception, not a business answer) is not unanswered: it waits, with no deadline, for
 * an operator to replay the dead letter, as the order does in choreography when its
 * event is dead-lettered. Sending it again would only dead-letter it again, and failing
 * the order would report a crash as a business outcome (a stock-out, a declined card).
 */
export const STEPS = [
  { name: 'inventory', invoke: 'ReserveInventory', compensate: 'ReleaseInventory', failedStatus: 'CANCELLED_NO_STOCK' },
  { name: 'payment', invoke: 'ProcessPayment', compensate: 'RefundPayment', failedStatus: 'PAYMENT_FAILED' },
  { name: 'shipping', invoke: 'CreateShipment', compensate: 'CancelShipment', failedStatus: 'SHIPMENT_FAILED' },
] as const satisfies readonly { name: string; invoke: CommandType; compensate: CommandType; failedStatus: FailedOrderStatus }[];

export type StepName = (typeof STEPS)[number]['name'];
export type SagaStatus = 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED';

export interface Saga {
  orderId: string;
  status: SagaStatus;
  /** Index in STEPS of the step awaiting its answer (or the last one reached). */
  step: number;
  order: { customerId: string; items: OrderLine[]; total: number; currency: string };
  /** Steps whose invoke command was sent: what a cancellation or a timeout must undo. */
  invoked: StepName[];
  /** Steps that answered with success. */
  done: StepName[];
  notified: boolean;
  /** The step's sends so far, and when the current one times out (ISO time). */
  attempts: number;
  deadline: string | null;
  outcome: string | null;
  /** Every decision, for GET /sagas/:orderId. */
  history: { at: string; message: string; commands: CommandType[] }[];
}

export type SagaMessage =
  | { type: 'OrderCreated'; data: EventDataOf<'OrderCreated'> }
  | { type: 'InventoryConfirmed' }
  | { type: 'InventoryRejected'; data: EventDataOf<'InventoryRejected'> }
  | { type: 'PaymentCompleted' }
  | { type: 'PaymentFailed'; data: EventDataOf<'PaymentFailed'> }
  | { type: 'Shipped'; data: EventDataOf<'Shipped'> }
  | { type: 'ShipmentFailed'; data: EventDataOf<'ShipmentFailed'> }
  | { type: 'NotificationSent' }
  | { type: 'OrderCancelled'; data: EventDataOf<'OrderCancelled'> }
  | { type: 'StepTimedOut' }
  /** A command this saga sent was written to its topic's dead-letter topic by `consumerGroup`. */
  | { type: 'CommandDeadLettered'; data: { command: CommandType; consumerGroup: string; attempts: number; error: string } };

export type CommandDraft = { [T in CommandType]: { type: T; data: MessageDataOf<T> } }[CommandType];

export interface SagaContext {
  /** Event time of the message (or the clock, for a timeout). */
  now: Date;
  stepTimeoutMs: number;
  maxAttempts: number;
}

export interface SagaDecision {
  saga: Saga | undefined;
  commands: CommandDraft[];
}

const deadlineAfter = (ctx: SagaContext) => new Date(ctx.now.getTime() + ctx.stepTimeoutMs).toISOString();

function invokeCommand(saga: Saga, step: number): CommandDraft[] {
  const { customerId, items, total, currency } = saga.order;
  switch (STEPS[step]!.name) {
    case 'inventory':
      return [{ type: 'ReserveInventory', data: { customerId, items, total, currency } }];
    case 'payment':
      return [{ type: 'ProcessPayment', data: { customerId, total, currency } }];
    case 'shipping':
      return [{ type: 'CreateShipment', data: { customerId } }];
  }
}

function record(saga: Saga, ctx: SagaContext, message: string, commands: CommandDraft[]): SagaDecision {
  return {
    saga: { ...saga, history: [...saga.history, { at: ctx.now.toISOString(), message, commands: commands.map((c) => c.type) }] },
    commands,
  };
}

/** Invokes step `step` (first attempt), with the confirmation sent alongside shipping. */
function advanceTo(saga: Saga, step: number, ctx: SagaContext, message: string, extra: CommandDraft[] = []): SagaDecision {
  const name = STEPS[step]!.name;
  const next: Saga = { ...saga, step, invoked: [...saga.invoked, name], attempts: 1, deadline: deadlineAfter(ctx), outcome: null };
  return record(next, ctx, message, [...invokeCommand(next, step), ...extra]);
}

function compensateCommand(step: (typeof STEPS)[number], status: FailedOrderStatus, reason: string): CommandDraft {
  switch (step.compensate) {
    case 'ReleaseInventory':
      return { type: 'ReleaseInventory', data: { reason } };
    case 'RefundPayment':
      return { type: 'RefundPayment', data: { reason } };
    case 'CancelShipment':
      return { type: 'CancelShipment', data: { status, reason } };
  }
}

/**
 * Undo what was invoked, newest first, because the order ended with `status`. A step
 * invoked but unanswered may still happen, so it is undone too.
 */
function compensations(saga: Saga, status: FailedOrderStatus, reason: string, skip: StepName | null): CommandDraft[] {
  return [...STEPS]
    .reverse()
    .filter((step) => step.name !== skip && saga.invoked.includes(step.name))
    .map((step) => compensateCommand(step, status, reason));
}

function fail(saga: Saga, ctx: SagaContext, message: string, failedStep: StepName, reason: string, stepRejected: boolean): SagaDecision {
  const step = STEPS.find((s) => s.name === failedStep)!;
  // A step that said no did nothing to undo; a step that timed out may still act.
  const undo = compensations(saga, step.failedStatus, step.failedStatus, stepRejected ? failedStep : null);
  const commands = [...undo, { type: 'CancelOrder' as const, data: { status: step.failedStatus, reason } }];
  return record({ ...saga, status: 'FAILED', deadline: null, outcome: reason }, ctx, message, commands);
}

const ignore = (saga: Saga | undefined): SagaDecision => ({ saga, commands: [] });

/** True when the message answers the step the saga is waiting for. */
const answers = (saga: Saga, step: StepName) => saga.status === 'RUNNING' && STEPS[saga.step]!.name === step && !saga.done.includes(step);

export function decideSaga(saga: Saga | undefined, orderId: string, message: SagaMessage, ctx: SagaContext): SagaDecision {
  if (message.type === 'OrderCreated') {
    if (saga) return ignore(saga);
    const started: Saga = {
      orderId,
      status: 'RUNNING',
      step: 0,
      order: { customerId: message.data.customerId, items: message.data.items, total: message.data.total, currency: message.data.currency },
      invoked: [],
      done: [],
      notified: false,
      attempts: 0,
      deadline: null,
      outcome: null,
      history: [],
    };
    return advanceTo(started, 0, ctx, 'OrderCreated');
  }
  if (!saga) return ignore(saga);
  switch (message.type) {
    case 'InventoryConfirmed':
      if (!answers(saga, 'inventory')) return ignore(saga);
      return advanceTo({ ...saga, done: [...saga.done, 'inventory'] }, 1, ctx, message.type);
    case 'PaymentCompleted': {
      if (!answers(saga, 'payment')) return ignore(saga);
      const { customerId, total, currency } = saga.order;
      const notify: CommandDraft = { type: 'SendNotification', data: { customerId, amount: total, currency } };
      return advanceTo({ ...saga, done: [...saga.done, 'payment'] }, 2, ctx, message.type, [notify]);
    }
    case 'Shipped': {
      if (!answers(saga, 'shipping')) return ignore(saga);
      const { trackingNumber, carrier } = message.data;
      const completed: Saga = { ...saga, status: 'COMPLETED', done: [...saga.done, 'shipping'], deadline: null, outcome: `shipped ${trackingNumber}` };
      return record(completed, ctx, message.type, [{ type: 'CompleteOrder', data: { trackingNumber, carrier } }]);
    }
    case 'InventoryRejected':
      if (!answers(saga, 'inventory')) return ignore(saga);
      return fail(saga, ctx, message.type, 'inventory', `${message.data.reason}: ${message.data.productId} requested ${message.data.requested}, available ${message.data.available}`, true);
    case 'PaymentFailed':
      if (!answers(saga, 'payment')) return ignore(saga);
      return fail(saga, ctx, message.type, 'payment', message.data.reason, true);
    case 'ShipmentFailed':
      if (!answers(saga, 'shipping')) return ignore(saga);
      return fail(saga, ctx, message.type, 'shipping', message.data.reason, true);
    case 'NotificationSent':
      return saga.notified ? ignore(saga) : { saga: { ...saga, notified: true }, commands: [] };
    case 'OrderCancelled':
      // Only a customer's cancellation; the others answer this saga's own CancelOrder.
      // The order service is the authority on how an order ended: a cancel it accepted
      // before CompleteOrder reached it wins over a completion decided here, so a
      // completed saga is compensated too. A failed saga has compensated already.
      if (message.data.status !== 'CANCELLED' || (saga.status !== 'RUNNING' && saga.status !== 'COMPLETED')) return ignore(saga);
      return record({ ...saga, status: 'CANCELLED', deadline: null, outcome: message.data.reason }, ctx, message.type, compensations(saga, 'CANCELLED', 'ORDER_CANCELLED', null));
    case 'StepTimedOut': {
      if (saga.status !== 'RUNNING' || saga.deadline === null || ctx.now.getTime() < Date.parse(saga.deadline)) return ignore(saga);
      const step = STEPS[saga.step]!;
      if (saga.attempts < ctx.maxAttempts) {
        const retried: Saga = { ...saga, attempts: saga.attempts + 1, deadline: deadlineAfter(ctx) };
        return record(retried, ctx, `no answer from ${step.name}: sending ${step.invoke} again (attempt ${retried.attempts})`, invokeCommand(retried, saga.step));
      }
      return fail(saga, ctx, 'StepTimedOut', step.name, `TIMEOUT: no answer to ${step.invoke} after ${saga.attempts} attempts`, false);
    }
    case 'CommandDeadLettered': {
      // Only the awaited step's invoke, once: compensations and confirmations have no deadline to stop.
      const step = STEPS[saga.step]!;
      if (!answers(saga, step.name) || step.invoke !== message.data.command || saga.deadline === null) return ignore(saga);
      const { command, consumerGroup, attempts, error } = message.data;
      const outcome = `DEAD_LETTERED: ${command} failed in ${consumerGroup} after ${attempts} attempts (${error}); waiting for the dead letter's replay`;
      return record({ ...saga, deadline: null, outcome }, ctx, `${command} dead-lettered by ${consumerGroup}: no timeout, waiting for a replay`, []);
    }
    default: {
      const never: never = message;
      throw new Error(`unhandled message ${JSON.stringify(never)}`);
    }
  }
}
