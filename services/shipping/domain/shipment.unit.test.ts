import { EventData } from '@orderflow/contracts';
import { describe, expect, it } from 'vitest';
import { CARRIERS, SHIPMENT_FAILURE_TRIGGER, type ShipmentInputs, type ShipmentState, decideCancellation, decideShipment } from './shipment.ts';

const inputs = (overrides: Partial<ShipmentInputs> = {}): ShipmentInputs => ({
  customerId: 'customer-1',
  failureRate: 0.1,
  roll: 0.5,
  trackingHex: 'a1b2c3d4',
  ...overrides,
});

const TRACKING = /^TRK[0-9A-F]{8}$/;

describe('decideShipment', () => {
  it('given a roll above the failure rate, when deciding, then it ships with a TRK tracking number in upper-case hex', () => {
    const decision = decideShipment('order-1', inputs());

    expect(decision.kind).toBe('ship');
    if (decision.kind !== 'ship') return;
    expect(decision.trackingNumber).toBe('TRKA1B2C3D4');
    expect(decision.trackingNumber).toMatch(TRACKING);
    expect(CARRIERS).toContain(decision.carrier);
  });

  it.each(['00000000', 'ffffffff', 'deadBEEF', '0123abcd'])('given tracking hex %s, when shipping, then the number matches the Shipped contract', (hex) => {
    const decision = decideShipment('order-1', inputs({ trackingHex: hex }));

    expect(decision.kind === 'ship' && decision.trackingNumber).toMatch(TRACKING);
    if (decision.kind === 'ship') expect(EventData.Shipped.safeParse({ shipmentId: 's', ...decision }).success).toBe(true);
  });

  it(`given a customer id containing "${SHIPMENT_FAILURE_TRIGGER}", when deciding, then it fails whatever the roll`, () => {
    expect(decideShipment('order-1', inputs({ customerId: `bob-${SHIPMENT_FAILURE_TRIGGER}`, failureRate: 0, roll: 0.99 }))).toEqual({
      kind: 'fail',
      reason: 'CARRIER_REJECTED: test trigger in customer id',
    });
  });

  it.each([
    { failureRate: 0.1, roll: 0, kind: 'fail' },
    { failureRate: 0.1, roll: 0.0999, kind: 'fail' },
    { failureRate: 0.1, roll: 0.1, kind: 'ship' },
    { failureRate: 0.1, roll: 0.9999, kind: 'ship' },
    { failureRate: 0, roll: 0, kind: 'ship' },
    { failureRate: 1, roll: 0.9999, kind: 'fail' },
  ])('given a failure rate of $failureRate (document 003 default 0.1), when the roll is $roll, then it is $kind', ({ failureRate, roll, kind }) => {
    const decision = decideShipment('order-1', inputs({ failureRate, roll }));

    expect(decision.kind).toBe(kind);
    if (decision.kind === 'fail') expect(decision.reason).toBe('CARRIER_UNAVAILABLE: simulated failure rate');
  });

  it('given the same order id, when deciding twice with different random inputs, then the carrier is the same', () => {
    const first = decideShipment('8a7c5f0e-1d2b-4c3a-9e8f-0123456789ab', inputs({ roll: 0.3, trackingHex: '11111111' }));
    const second = decideShipment('8a7c5f0e-1d2b-4c3a-9e8f-0123456789ab', inputs({ roll: 0.9, trackingHex: '22222222' }));

    expect(first.kind === 'ship' && second.kind === 'ship' && first.carrier === second.carrier).toBe(true);
  });

  it('given many order ids, when deciding, then every carrier is a known one and more than one is used', () => {
    const carriers = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const decision = decideShipment(`order-${i}`, inputs());
      if (decision.kind === 'ship') carriers.add(decision.carrier);
    }

    for (const carrier of carriers) expect(CARRIERS).toContain(carrier);
    expect(carriers.size).toBeGreaterThan(1);
  });
});

describe('decideCancellation', () => {
  it.each<{ state: ShipmentState | undefined; action: string }>([
    { state: 'SHIPPED', action: 'void' },
    { state: undefined, action: 'block-shipment' },
    { state: 'FAILED', action: 'nothing' },
    { state: 'VOIDED', action: 'nothing' },
    { state: 'CANCELLED_BEFORE_SHIPMENT', action: 'nothing' },
  ])('given a shipment in state $state, when the order is cancelled, then $action', ({ state, action }) => {
    expect(decideCancellation(state)).toBe(action);
  });
});
