/**
 * Simulated card payments. Deterministic triggers (documented in the README) make a
 * payment fail on purpose; a configured rate adds random failures, with the random
 * number passed in so this stays a pure function.
 */
export const DECLINE_TRIGGER = 'decline-payment';
/** Charges above this (minor units) are refused, as a card limit would. */
export const CHARGE_LIMIT = 1_000_000;

export interface ChargeRequest {
  customerId: string;
  amount: number;
}

export type ChargeDecision = { kind: 'charge' } | { kind: 'decline'; reason: string };

export function decideCharge(request: ChargeRequest, failureRate: number, roll: number): ChargeDecision {
  if (request.customerId.includes(DECLINE_TRIGGER)) return { kind: 'decline', reason: 'CARD_DECLINED: test trigger in customer id' };
  if (request.amount > CHARGE_LIMIT) return { kind: 'decline', reason: `AMOUNT_OVER_LIMIT: ${request.amount} exceeds ${CHARGE_LIMIT}` };
  if (roll < failureRate) return { kind: 'decline', reason: 'CARD_DECLINED: simulated failure rate' };
  return { kind: 'charge' };
}

export type PaymentState = 'COMPLETED' | 'FAILED' | 'REFUNDED' | 'CANCELLED_BEFORE_CHARGE';

/**
 * What a cancellation or failed shipment does to this order's payment: refund a
 * charge, or, if the charge has not happened yet, remember that it must not.
 */
export function decideCompensation(state: PaymentState | undefined): 'refund' | 'block-charge' | 'nothing' {
  if (state === undefined) return 'block-charge';
  return state === 'COMPLETED' ? 'refund' : 'nothing';
}
