import type { OrderView } from '@orderflow/contracts';
import { percentileOf, round } from './bench-system.ts';

/** When the benchmark sent an order's POST and saw it COMPLETED on the WebSocket, in wall-clock ms (the services' event times are wall-clock too). */
export interface OrderTimes {
  sentMs: number;
  seenMs: number;
}

export type StepFigures = Record<string, { p50: number; p95: number; orders: number }>;

/** The last line of the breakdown: from sending the POST to the benchmark's WebSocket client seeing the order COMPLETED. */
export const SEEN_ON_WEBSOCKET = 'COMPLETED on the WebSocket';

/**
 * Where an order's time goes: for each event type on the orders' timelines, the time from
 * sending the POST to the event's time (occurredAt: when its service handled what caused it,
 * inside its transaction), then to the benchmark seeing the order COMPLETED. The
 * difference between two lines is what one hop cost (relay, broker, consumer, handler),
 * so a slow hop shows without a tracer. Event times have millisecond resolution and come
 * from the same machine's clock as sentMs and seenMs. Lines are in the order of their p50.
 */
export function timeSinceSent(views: readonly OrderView[], times: ReadonlyMap<string, OrderTimes>): StepFigures {
  const byStep = new Map<string, number[]>();
  const add = (step: string, ms: number) => {
    let list = byStep.get(step);
    if (!list) byStep.set(step, (list = []));
    list.push(ms);
  };
  for (const view of views) {
    const time = times.get(view.orderId);
    if (!time) continue;
    for (const entry of view.timeline) add(entry.type, Date.parse(entry.occurredAt) - time.sentMs);
    add(SEEN_ON_WEBSOCKET, time.seenMs - time.sentMs);
  }
  const figures = [...byStep].map(([step, list]) => {
    list.sort((a, b) => a - b);
    return [step, { p50: round(percentileOf(list, 50)), p95: round(percentileOf(list, 95)), orders: list.length }] as const;
  });
  figures.sort((a, b) => a[1].p50 - b[1].p50);
  return Object.fromEntries(figures);
}
