// A worker thread does not inherit the main thread's tsx loader (npm start's --import tsx):
// register it in this thread, then load the TypeScript entry.
import { register } from 'tsx/esm/api';

register();
await import('./service-thread.ts');
