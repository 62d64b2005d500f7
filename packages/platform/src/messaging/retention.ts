import { setTimeout as sleep } from 'node:timers/promises';
import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import type { PlatformTables } from '../database/platform-tables.ts';

/** Rows one statement deletes: each chunk is a short transaction of its own, so handlers never wait long behind it. */
const CHUNK_ROWS = 1_000;
/** How often expired rows are looked for. */
const SWEEP_INTERVAL_MS = 10 * 60_000;

export interface ExpiredRows {
  inbox: number;
  deadLetters: number;
}

/**
 * Deletes, in chunks of `chunkRows`, the inbox rows handled before `cutoff` and the dead
 * letters replayed or discarded before it. Kept whatever their age: the inbox row of an
 * event whose dead letter is unresolved (the same event can reach a group twice, from two
 * relay publishes: one copy dead-lettered, the other handled; a replay of the first days
 * later must still find the second's row), and every unresolved dead letter (it waits for
 * an operator). One statement for both databases: a row-value IN over the primary key.
 */
export async function sweepExpired(
  db: Kysely<PlatformTables>,
  cutoff: Date,
  options: { chunkRows?: number; isStopping?: () => boolean } = {},
): Promise<ExpiredRows> {
  const before = cutoff.toISOString();
  const chunk = options.chunkRows ?? CHUNK_ROWS;
  const deleteInChunks = async (statement: () => Promise<{ numAffectedRows?: bigint }>) => {
    let total = 0;
    for (;;) {
      const deleted = Number((await statement()).numAffectedRows ?? 0n);
      total += deleted;
      if (deleted < chunk || options.isStopping?.()) return total;
      await sleep(0); // let the handlers' transactions in between chunks
    }
  };
  const inbox = await deleteInChunks(() =>
    sql`
      delete from inbox where (consumer_group, message_id) in (
        select i.consumer_group, i.message_id from inbox i
        where i.processed_at < ${before}
          and not exists (
            select 1 from dead_letters d
            where d.consumer_group = i.consumer_group and d.message_id = i.message_id and d.replayed_at is null and d.discarded_at is null)
        order by i.processed_at
        limit ${chunk})`.execute(db),
  );
  const deadLetters = await deleteInChunks(() =>
    sql`
      delete from dead_letters where id in (
        select id from dead_letters where replayed_at < ${before} or discarded_at < ${before} limit ${chunk})`.execute(db),
  );
  return { inbox, deadLetters };
}

export interface RetentionSweeperOptions {
  /** INBOX_RETENTION: an inbox row's age (and a resolved dead letter's) before it is deleted. */
  retentionMs: number;
  intervalMs?: number;
  /**
   * Resolves once sweeping is safe: every consumer of the service has handled the records
   * its broker had for it at start. Those include every record handled before a crash or
   * a long stop whose position was not yet committed, so their redeliveries are over
   * before any row they need can be swept, however long the service was down.
   */
  caughtUp(): Promise<void>;
  onDeleted?(rows: ExpiredRows): void;
}

export interface RetentionSweeper {
  /** Sweeps no more; resolves once the chunk in flight (if any) has finished. */
  stop(): Promise<void>;
}

/**
 * Sweeps the service's inbox and resolved dead letters every intervalMs (the first time one
 * interval after start), once the consumers have caught up (see
 * RetentionSweeperOptions.caughtUp). A failed sweep (the
 * database away) is logged and tried again at the next interval; stop() lets the chunk in
 * flight finish and sweeps no more.
 */
export function startRetentionSweeper(db: Kysely<PlatformTables>, logger: Logger, options: RetentionSweeperOptions): RetentionSweeper {
  let stopped = false;
  let inFlight: Promise<void> | undefined;
  let resolveStopped: () => void = () => undefined;
  const stoppedSignal = new Promise<void>((resolve) => (resolveStopped = resolve));
  // Asked at the first sweep, one interval after start: by then the service has subscribed its consumers.
  let ready: Promise<boolean> | undefined;

  const sweep = async () => {
    try {
      ready ??= Promise.race([options.caughtUp().then(() => true), stoppedSignal.then(() => false)]);
      if (!(await ready) || stopped) return;
      const cutoff = new Date(Date.now() - options.retentionMs);
      const expired = await sweepExpired(db, cutoff, { isStopping: () => stopped });
      options.onDeleted?.(expired);
      if (expired.inbox + expired.deadLetters > 0) logger.info({ ...expired, cutoff: cutoff.toISOString() }, 'retention: deleted expired inbox rows and resolved dead letters');
    } catch (error) {
      if (!(await ready?.catch(() => false))) ready = undefined; // the wait for the consumers failed: ask again next time
      logger.warn({ err: error }, 'retention sweep failed; will try again');
    }
  };
  const timer = setInterval(() => {
    if (inFlight || stopped) return; // a long sweep (or the wait for catching up) is not queued twice
    inFlight = sweep().finally(() => {
      inFlight = undefined;
    });
  }, options.intervalMs ?? SWEEP_INTERVAL_MS);
  timer.unref();

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      resolveStopped();
      await inFlight;
    },
  };
}
