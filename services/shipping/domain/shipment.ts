/**
 * Simulated shipping (document 003: succeeds 90% of the time by default). A customer
 * id containing the trigger fails deterministically; random numbers come in as
 * arguments so the decision is a pure function.
 */
export const SHIPMENT_FAILURE_TRIGGER = 'fail-shipment';
export const CARRIERS = ['Yamato Transport', 'Sagawa Express', 'Japan Post', 'DHL'] as const;

export type ShipmentDecision = { kind: 'ship'; trackingNumber: string; carrier: string } | { kind: 'fail'; reason: string };

export interface ShipmentInputs {
  customerId: string;
  failureRate: number;
  roll: number;
  /** 8 random hex digits for the tracking number. */
  trackingHex: string;
}

function carrierFor(orderId: string): string {
  let hash = 0;
  for (const char of orderId) hash = (hash * 31 + char.charCodeAt(0)) | 0;
  return CARRIERS[Math.abs(hash) % CARRIERS.length]!;
}

export function decideShipment(orderId: string, inputs: ShipmentInputs): ShipmentDecision {
  if (inputs.customerId.includes(SHIPMENT_FAILURE_TRIGGER)) return { kind: 'fail', reason: 'CARRIER_REJECTED: test trigger in customer id' };
  if (inputs.roll < inputs.failureRate) return { kind: 'fail', reason: 'CARRIER_UNAVAILABLE: simulated failure rate' };
  return { kind: 'ship', trackingNumber: `TRK${inputs.trackingHex.toUpperCase()}`, carrier: carrierFor(orderId) };
}

export type ShipmentState = 'SHIPPED' | 'FAILED' | 'VOIDED' | 'CANCELLED_BEFORE_SHIPMENT';

/**
 * A cancellation can cross a shipment in flight (the order service accepted the cancel
 * before it saw Shipped): the shipment is then voided. Before any shipment, the
 * cancellation is remembered so that none is made.
 */
export function decideCancellation(state: ShipmentState | undefined): 'void' | 'block-shipment' | 'nothing' {
  if (state === undefined) return 'block-shipment';
  return state === 'SHIPPED' ? 'void' : 'nothing';
}
