// npm start's entry. The service thread is spawned before anything else is loaded (see
// spawnServiceThread); it is ended if THREAD_SERVICES turns out to name no service.
import { serviceThreadWanted, spawnServiceThread } from './service-thread-spawn.ts';

const serviceThread = serviceThreadWanted() ? spawnServiceThread() : undefined;
const { runOrderflowProcess } = await import('./orderflow-process.ts');
await runOrderflowProcess(serviceThread);
