import { describe, expect, it } from 'vitest';
import { type Saga, type SagaContext, type SagaMessage, decideSaga } from './saga.ts';

const ORDER = 'order-1';
const t0 = new Date('2026-01-01T00:00:00.000Z');
const ctx = (now = t0): SagaContext => ({ now, stepTimeoutMs: 1_000, maxAttempts: 3 });
const created: SagaMessage = {
  type: 'OrderCreated',
  data: { customerId: 'alice', items: [{ productId: 'product-1', quantity: 2, unitPrice: 2999 }], total: 5998, currency: 'USD' },
};
const shipped: SagaMessage = { type: 'Shipped', data: { shipmentId: 's-1', trackingNumber: 'TRK0A1B2C3D', carrier: 'DHL' } };

/** Given these messages, the saga they leave (every decision's commands collected). */
function given(...messages: SagaMessage[]) {
  let saga: Saga | undefined;
  const commands: string[] = [];
  for (const message of messages) {
    const decision = decideSaga(saga, ORDER, message, ctx());
    saga = decision.saga;
    commands.push(...decision.commands.map((c) => c.type));
  }
  return { saga, commands };
}

const when = (saga: Saga | undefined, message: SagaMessage, at = t0) => decideSaga(saga, ORDER, message, ctx(at));
const types = (decision: { commands: { type: string }[] }) => decision.commands.map((c) => c.type);

describe('the order saga', () => {
  describe('happy path', () => {
    it('OrderCreated → ReserveInventory with the order, awaiting inventory with a deadline', () => {
      const decision = when(undefined, created);
      expect(decision.commands).toEqual([
        { type: 'ReserveInventory', data: { customerId: 'alice', items: [{ productId: 'product-1', quantity: 2, unitPrice: 2999 }], total: 5998, currency: 'USD' } },
      ]);
      expect(decision.saga).toMatchObject({ status: 'RUNNING', step: 0, invoked: ['inventory'], attempts: 1, deadline: '2026-01-01T00:00:01.000Z' });
    });

    it('InventoryConfirmed → ProcessPayment', () => {
      const decision = when(given(created).saga, { type: 'InventoryConfirmed' });
      expect(decision.commands).toEqual([{ type: 'ProcessPayment', data: { customerId: 'alice', total: 5998, currency: 'USD' } }]);
      expect(decision.saga).toMatchObject({ step: 1, done: ['inventory'], invoked: ['inventory', 'payment'] });
    });

    it('PaymentCompleted → CreateShipment and SendNotification in parallel', () => {
      const decision = when(given(created, { type: 'InventoryConfirmed' }).saga, { type: 'PaymentCompleted' });
      expect(decision.commands).toEqual([
        { type: 'CreateShipment', data: { customerId: 'alice' } },
        { type: 'SendNotification', data: { customerId: 'alice', amount: 5998, currency: 'USD' } },
      ]);
    });

    it('Shipped → CompleteOrder with the tracking number; the saga is COMPLETED with nothing awaited', () => {
      const decision = when(given(created, { type: 'InventoryConfirmed' }, { type: 'PaymentCompleted' }).saga, shipped);
      expect(decision.commands).toEqual([{ type: 'CompleteOrder', data: { trackingNumber: 'TRK0A1B2C3D', carrier: 'DHL' } }]);
      expect(decision.saga).toMatchObject({ status: 'COMPLETED', deadline: null, done: ['inventory', 'payment', 'shipping'] });
    });

    it('NotificationSent is recorded, before or after completion, and sends nothing', () => {
      const { saga } = given(created, { type: 'InventoryConfirmed' }, { type: 'PaymentCompleted' }, shipped);
      const decision = when(saga, { type: 'NotificationSent' });
      expect(decision.commands).toEqual([]);
      expect(decision.saga?.notified).toBe(true);
      expect(when(decision.saga, { type: 'NotificationSent' }).saga).toBe(decision.saga);
    });

    it('records every decision in its history', () => {
      const { saga } = given(created, { type: 'InventoryConfirmed' }, { type: 'PaymentCompleted' }, shipped);
      expect(saga?.history.map((h) => [h.message, h.commands])).toEqual([
        ['OrderCreated', ['ReserveInventory']],
        ['InventoryConfirmed', ['ProcessPayment']],
        ['PaymentCompleted', ['CreateShipment', 'SendNotification']],
        ['Shipped', ['CompleteOrder']],
      ]);
    });
  });

  describe('failures compensate what came before, newest first, and cancel the order', () => {
    it('InventoryRejected → CancelOrder CANCELLED_NO_STOCK, nothing to undo', () => {
      const decision = when(given(created).saga, {
        type: 'InventoryRejected',
        data: { reason: 'OUT_OF_STOCK', productId: 'product-1', requested: 2, available: 1 },
      });
      expect(decision.commands).toEqual([{ type: 'CancelOrder', data: { status: 'CANCELLED_NO_STOCK', reason: 'OUT_OF_STOCK: product-1 requested 2, available 1' } }]);
      expect(decision.saga?.status).toBe('FAILED');
    });

    it('PaymentFailed → ReleaseInventory, then CancelOrder PAYMENT_FAILED', () => {
      const decision = when(given(created, { type: 'InventoryConfirmed' }).saga, { type: 'PaymentFailed', data: { reason: 'CARD_DECLINED', amount: 5998, currency: 'USD' } });
      expect(decision.commands).toEqual([
        { type: 'ReleaseInventory', data: { reason: 'PAYMENT_FAILED' } },
        { type: 'CancelOrder', data: { status: 'PAYMENT_FAILED', reason: 'CARD_DECLINED' } },
      ]);
    });

    it('ShipmentFailed → RefundPayment, ReleaseInventory, then CancelOrder SHIPMENT_FAILED', () => {
      const decision = when(given(created, { type: 'InventoryConfirmed' }, { type: 'PaymentCompleted' }).saga, { type: 'ShipmentFailed', data: { reason: 'CARRIER_REJECTED' } });
      expect(types(decision)).toEqual(['RefundPayment', 'ReleaseInventory', 'CancelOrder']);
      expect(decision.commands[2]).toEqual({ type: 'CancelOrder', data: { status: 'SHIPMENT_FAILED', reason: 'CARRIER_REJECTED' } });
    });
  });

  describe("a customer's cancellation", () => {
    const cancelled: SagaMessage = { type: 'OrderCancelled', data: { status: 'CANCELLED', reason: 'CUSTOMER_REQUEST' } };

    it('while inventory is awaited: releases whatever the reservation does (it may still happen)', () => {
      const decision = when(given(created).saga, cancelled);
      expect(decision.commands).toEqual([{ type: 'ReleaseInventory', data: { reason: 'ORDER_CANCELLED' } }]);
      expect(decision.saga).toMatchObject({ status: 'CANCELLED', deadline: null });
    });

    it('while payment is awaited: refunds and releases', () => {
      expect(types(when(given(created, { type: 'InventoryConfirmed' }).saga, cancelled))).toEqual(['RefundPayment', 'ReleaseInventory']);
    });

    it('while the shipment is awaited: voids it (it may still be made), refunds and releases', () => {
      const decision = when(given(created, { type: 'InventoryConfirmed' }, { type: 'PaymentCompleted' }).saga, cancelled);
      expect(decision.commands).toEqual([
        { type: 'CancelShipment', data: { status: 'CANCELLED', reason: 'ORDER_CANCELLED' } },
        { type: 'RefundPayment', data: { reason: 'ORDER_CANCELLED' } },
        { type: 'ReleaseInventory', data: { reason: 'ORDER_CANCELLED' } },
      ]);
    });

    it('after the saga completed (the cancel reached the order first): voids the shipment, refunds and releases', () => {
      const { saga } = given(created, { type: 'InventoryConfirmed' }, { type: 'PaymentCompleted' }, shipped);
      const decision = when(saga, cancelled);
      expect(types(decision)).toEqual(['CancelShipment', 'RefundPayment', 'ReleaseInventory']);
      expect(decision.saga?.status).toBe('CANCELLED');
    });

    it('after the saga failed: nothing more (it compensated already)', () => {
      const { saga } = given(created, { type: 'InventoryConfirmed' }, { type: 'PaymentFailed', data: { reason: 'x', amount: 1, currency: 'USD' } });
      expect(when(saga, cancelled).commands).toEqual([]);
    });

    it("the order's own OrderCancelled answering CancelOrder changes nothing", () => {
      const { saga } = given(created, { type: 'InventoryRejected', data: { reason: 'OUT_OF_STOCK', productId: 'p', requested: 1, available: 0 } });
      const echo = when(saga, { type: 'OrderCancelled', data: { status: 'CANCELLED_NO_STOCK', reason: 'OUT_OF_STOCK' } });
      expect(echo.commands).toEqual([]);
      expect(echo.saga).toBe(saga);
    });
  });

  describe('late, duplicate and out-of-place messages change nothing', () => {
    const cases: Array<[string, SagaMessage[], SagaMessage]> = [
      ['a second OrderCreated', [created], created],
      ['InventoryConfirmed twice', [created, { type: 'InventoryConfirmed' }], { type: 'InventoryConfirmed' }],
      ['PaymentCompleted before inventory answered', [created], { type: 'PaymentCompleted' }],
      ['Shipped while payment is awaited', [created, { type: 'InventoryConfirmed' }], shipped],
      ['a late InventoryConfirmed after a cancellation', [created, { type: 'OrderCancelled', data: { status: 'CANCELLED', reason: 'CUSTOMER_REQUEST' } }], { type: 'InventoryConfirmed' }],
      ['Shipped after completion', [created, { type: 'InventoryConfirmed' }, { type: 'PaymentCompleted' }, shipped], shipped],
    ];
    for (const [name, history, message] of cases) {
      it(name, () => {
        const { saga } = given(...history);
        const decision = when(saga, message);
        expect(decision.commands).toEqual([]);
        expect(decision.saga).toBe(saga);
      });
    }

    it('a reply for an order with no saga is ignored', () => {
      expect(when(undefined, { type: 'InventoryConfirmed' })).toEqual({ saga: undefined, commands: [] });
    });
  });

  describe('timeouts', () => {
    const afterDeadline = new Date(t0.getTime() + 1_000);

    it('before the deadline nothing happens', () => {
      const { saga } = given(created);
      expect(when(saga, { type: 'StepTimedOut' }, new Date(t0.getTime() + 999)).saga).toBe(saga);
    });

    it('at the deadline the step is sent again, with a new deadline', () => {
      const decision = when(given(created).saga, { type: 'StepTimedOut' }, afterDeadline);
      expect(types(decision)).toEqual(['ReserveInventory']);
      expect(decision.saga).toMatchObject({ attempts: 2, deadline: '2026-01-01T00:00:02.000Z', status: 'RUNNING' });
    });

    it('after the last attempt the saga fails as the step would, undoing the unanswered step too', () => {
      let saga = given(created, { type: 'InventoryConfirmed' }).saga;
      let at = t0.getTime();
      for (let attempt = 2; attempt <= 3; attempt++) {
        at += 1_000;
        saga = when(saga, { type: 'StepTimedOut' }, new Date(at)).saga;
        expect(saga?.attempts).toBe(attempt);
      }
      const decision = when(saga, { type: 'StepTimedOut' }, new Date(at + 1_000));
      expect(types(decision)).toEqual(['RefundPayment', 'ReleaseInventory', 'CancelOrder']);
      expect(decision.commands[2]).toEqual({ type: 'CancelOrder', data: { status: 'PAYMENT_FAILED', reason: 'TIMEOUT: no answer to ProcessPayment after 3 attempts' } });
      expect(decision.saga).toMatchObject({ status: 'FAILED', deadline: null });
    });

    it('a shipment never answered is cancelled with the failure, so a late one is voided or never made', () => {
      let saga = given(created, { type: 'InventoryConfirmed' }, { type: 'PaymentCompleted' }).saga;
      let at = t0.getTime();
      for (let attempt = 2; attempt <= 3; attempt++) saga = when(saga, { type: 'StepTimedOut' }, new Date((at += 1_000))).saga;
      const decision = when(saga, { type: 'StepTimedOut' }, new Date(at + 1_000));
      expect(decision.commands).toEqual([
        { type: 'CancelShipment', data: { status: 'SHIPMENT_FAILED', reason: 'SHIPMENT_FAILED' } },
        { type: 'RefundPayment', data: { reason: 'SHIPMENT_FAILED' } },
        { type: 'ReleaseInventory', data: { reason: 'SHIPMENT_FAILED' } },
        { type: 'CancelOrder', data: { status: 'SHIPMENT_FAILED', reason: 'TIMEOUT: no answer to CreateShipment after 3 attempts' } },
      ]);
    });

    it('a finished saga never times out', () => {
      const { saga } = given(created, { type: 'InventoryConfirmed' }, { type: 'PaymentCompleted' }, shipped);
      expect(when(saga, { type: 'StepTimedOut' }, new Date(t0.getTime() + 60_000)).commands).toEqual([]);
    });

    it('a dead-lettered invoke stops the clock: never sent again, never failed, and its replayed answer moves on', () => {
      const deadLettered: SagaMessage = {
        type: 'CommandDeadLettered',
        data: { command: 'ReserveInventory', consumerGroup: 'inventory', attempts: 3, error: 'Error: injected failure' },
      };
      const waiting = when(given(created).saga, deadLettered);
      expect(waiting.commands).toEqual([]);
      expect(waiting.saga).toMatchObject({ status: 'RUNNING', deadline: null, outcome: expect.stringMatching(/^DEAD_LETTERED: ReserveInventory failed in inventory after 3 attempts/) });
      expect(when(waiting.saga, { type: 'StepTimedOut' }, new Date(t0.getTime() + 3_600_000)).saga).toBe(waiting.saga);
      expect(when(waiting.saga, deadLettered).saga).toBe(waiting.saga);
      const replayed = when(waiting.saga, { type: 'InventoryConfirmed' });
      expect(types(replayed)).toEqual(['ProcessPayment']);
      expect(replayed.saga).toMatchObject({ status: 'RUNNING', outcome: null, deadline: '2026-01-01T00:00:01.000Z' });
    });

    it("a dead letter of another step's command, or of a compensation, changes nothing", () => {
      const { saga } = given(created, { type: 'InventoryConfirmed' });
      for (const command of ['ReserveInventory', 'ReleaseInventory', 'SendNotification'] as const) {
        expect(when(saga, { type: 'CommandDeadLettered', data: { command, consumerGroup: 'x', attempts: 3, error: 'e' } }).saga).toBe(saga);
      }
    });

    it('an answer after a retry moves on as usual', () => {
      const retried = when(given(created).saga, { type: 'StepTimedOut' }, afterDeadline).saga;
      expect(types(when(retried, { type: 'InventoryConfirmed' }))).toEqual(['ProcessPayment']);
    });
  });
});
