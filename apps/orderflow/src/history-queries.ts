import { fork } from 'node:child_process';
import { BEARER_SUBPROTOCOL, isEntryPoint } from '@orderflow/platform';
import WebSocket from 'ws';
import { z } from 'zod';
import { callSystem, percentileOf, round } from './bench-system.ts';

/** What the history benchmark times against the status service, and with what. */
export const QueryPlan = z.object({
  status: z.string(),
  token: z.string(),
  /** Known order ids, spread over the history. */
  ids: z.array(z.string()).min(1),
  requests: z.number().int().positive(),
  sockets: z.number().int().positive(),
  pageSize: z.number().int().positive(),
});
export type QueryPlan = z.infer<typeof QueryPlan>;

/**
 * Times the status service's queries from a process of their own: the benchmark's process
 * holds the history's garbage, and its collections (a 23 ms scavenge at 20,000 orders)
 * were timed as the system's latency. This one holds nothing but the requests.
 */
export function timeQueriesApart(plan: QueryPlan): Promise<Record<string, Timing>> {
  const child = fork(new URL(import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (message: unknown) => {
      const answer = QueryAnswer.safeParse(message);
      if (answer.success && 'timings' in answer.data) resolve(answer.data.timings);
      else reject(new Error(answer.success && 'error' in answer.data ? answer.data.error : 'the query client answered nothing readable'));
      child.kill();
    });
    child.once('exit', (code) => reject(new Error(`the query client exited with code ${code}`)));
    child.send(plan);
  });
}

const Timing = z.object({ p50: z.number(), p99: z.number(), count: z.number() });
type Timing = z.infer<typeof Timing>;
const QueryAnswer = z.union([z.object({ timings: z.record(z.string(), Timing) }), z.object({ error: z.string() })]);

/**
 * Calls made before each series and not timed: the first calls of a route after a start
 * compile its code (V8's JIT, the statements SQLite prepares) and were a series' p99.
 * By id, they ask for other orders than the timed calls, so the timed ones still read
 * rows no call has touched since the restart.
 */
const WARM_UP_CALLS = 20;

async function timeQueries(plan: QueryPlan): Promise<Record<string, Timing>> {
  const get = (url: string) => callSystem('GET', url, plan.token);
  const byId = (i: number) => get(`${plan.status}/status/${plan.ids[(i * 7919) % plan.ids.length]}`);
  const warmedUp = async (count: number, call: (i: number) => Promise<{ status: number; body: string }>, warmUp = call) => {
    for (let i = 0; i < WARM_UP_CALLS; i++) await warmUp(i);
    return timed(count, call);
  };
  return {
    statusFirstPage: await warmedUp(plan.requests, () => get(`${plan.status}/status?limit=${plan.pageSize}`)),
    statusFilteredFirstPage: await warmedUp(plan.requests, () => get(`${plan.status}/status?status=COMPLETED&limit=${plan.pageSize}`)),
    statusById: await warmedUp(plan.requests, byId, (i) => byId(plan.requests + i)),
    wsConnectToSnapshot: await warmedUp(plan.sockets, () => firstSocketMessage(plan.status, plan.token)),
  };
}

/** `count` calls one after another: p50 and p99 of their durations, in ms. Each must answer 200. */
async function timed(count: number, call: (i: number) => Promise<{ status: number; body: string }>): Promise<Timing> {
  const durations: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const response = await call(i);
    durations.push(performance.now() - started);
    if (response.status !== 200) throw new Error(`answered ${response.status}: ${response.body.slice(0, 200)}`);
  }
  durations.sort((a, b) => a - b);
  return { p50: round(percentileOf(durations, 50)), p99: round(percentileOf(durations, 99)), count };
}

/** Opens /ws and resolves when its first message (the snapshot) has arrived. */
function firstSocketMessage(status: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${status.replace('http', 'ws')}/ws`, [BEARER_SUBPROTOCOL, token]);
    socket.once('message', (data) => {
      socket.close();
      resolve({ status: 200, body: String(data).slice(0, 100) });
    });
    socket.once('error', reject);
  });
}

if (isEntryPoint(import.meta.url)) {
  process.once('message', (message: unknown) => {
    void timeQueries(QueryPlan.parse(message)).then(
      (timings) => process.send?.({ timings }),
      (error: unknown) => process.send?.({ error: error instanceof Error ? error.message : String(error) }),
    );
  });
}
