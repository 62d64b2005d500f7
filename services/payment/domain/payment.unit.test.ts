import { describe, expect, it } from 'vitest';
import { CHARGE_LIMIT, DECLINE_TRIGGER, type PaymentState, decideCharge, decideCompensation } from './payment.ts';

describe('decideCharge', () => {
  it('given an ordinary customer and amount with no failure rate, when charging, then it charges', () => {
    expect(decideCharge({ customerId: 'customer-1', amount: 2999 }, 0, 0)).toEqual({ kind: 'charge' });
  });

  it(`given a customer id containing "${DECLINE_TRIGGER}", when charging, then it is declined by the test trigger`, () => {
    expect(decideCharge({ customerId: `alice-${DECLINE_TRIGGER}-1`, amount: 100 }, 0, 0.99)).toEqual({
      kind: 'decline',
      reason: 'CARD_DECLINED: test trigger in customer id',
    });
  });

  it('given an amount over the card limit, when charging, then it is declined naming the amount and the limit', () => {
    expect(decideCharge({ customerId: 'customer-1', amount: CHARGE_LIMIT + 1 }, 0, 0.99)).toEqual({
      kind: 'decline',
      reason: `AMOUNT_OVER_LIMIT: ${CHARGE_LIMIT + 1} exceeds ${CHARGE_LIMIT}`,
    });
  });

  it('given an amount exactly at the card limit, when charging, then it charges', () => {
    expect(decideCharge({ customerId: 'customer-1', amount: CHARGE_LIMIT }, 0, 0.5)).toEqual({ kind: 'charge' });
  });

  it('given both the trigger and an amount over the limit, when charging, then the trigger reason wins', () => {
    const decision = decideCharge({ customerId: DECLINE_TRIGGER, amount: CHARGE_LIMIT * 2 }, 0, 0.5);

    expect(decision.kind === 'decline' && decision.reason).toMatch(/^CARD_DECLINED: test trigger/);
  });

  it.each([
    { failureRate: 0.1, roll: 0.05, kind: 'decline' },
    { failureRate: 0.1, roll: 0.0999, kind: 'decline' },
    { failureRate: 0.1, roll: 0.1, kind: 'charge' },
    { failureRate: 0.1, roll: 0.95, kind: 'charge' },
    { failureRate: 0, roll: 0, kind: 'charge' },
    { failureRate: 1, roll: 0.9999, kind: 'decline' },
  ])('given a failure rate of $failureRate, when the roll is $roll, then it is $kind', ({ failureRate, roll, kind }) => {
    const decision = decideCharge({ customerId: 'customer-1', amount: 100 }, failureRate, roll);

    expect(decision.kind).toBe(kind);
    if (decision.kind === 'decline') expect(decision.reason).toBe('CARD_DECLINED: simulated failure rate');
  });
});

describe('decideCompensation', () => {
  it.each<{ state: PaymentState | undefined; action: string }>([
    { state: 'COMPLETED', action: 'refund' },
    { state: undefined, action: 'block-charge' },
    { state: 'FAILED', action: 'nothing' },
    { state: 'REFUNDED', action: 'nothing' },
    { state: 'CANCELLED_BEFORE_CHARGE', action: 'nothing' },
  ])('given a payment in state $state, when a compensation arrives, then $action', ({ state, action }) => {
    expect(decideCompensation(state)).toBe(action);
  });
});
