import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

// Only Node's own modules here: start.ts spawns the service thread through this module
// before it loads the platform and the services.

/**
 * Whether `npm start` runs a second thread (THREAD_SERVICES): when it names services, or
 * when it is unset and the machine has more than one core.
 */
export function serviceThreadWanted(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): boolean {
  const value = env.THREAD_SERVICES?.trim();
  return value ? value !== 'none' : cores > 1;
}

/**
 * A service thread that begins loading the platform and the services at once, then waits
 * for a `start` message (ThreadCommand) saying which services to run. Loading modules is
 * most of a start (about 1.5 s of CPU per thread); spawned first, the thread loads its
 * own while the main thread loads and starts its share, on the second core, instead of after.
 */
export function spawnServiceThread(): ServiceThread {
  const worker = new Worker(new URL('./service-thread.mjs', import.meta.url));
  // Listened to from the spawn on: a thread that fails while loading, before anyone awaits
  // its answer, is reported by startThreadedSystem rather than as an unhandled 'error' event.
  const ended = new Promise<never>((_, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the service thread exited with code ${code} before it was ready`)));
  });
  ended.catch(() => undefined);
  return { worker, ended };
}

export interface ServiceThread {
  worker: Worker;
  /** Rejects when the thread fails or exits (whenever that is); never resolves. */
  ended: Promise<never>;
}
