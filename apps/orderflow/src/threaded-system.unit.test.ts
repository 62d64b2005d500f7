import { loadConfig } from '@orderflow/platform';
import { describe, expect, it } from 'vitest';
import { threadServices } from './threaded-system.ts';

describe('THREAD_SERVICES', () => {
  const choreography = loadConfig({ SAGA_MODE: 'choreography' });
  const orchestration = loadConfig({ SAGA_MODE: 'orchestration' });

  it('names the services of the second thread, or none', () => {
    expect(threadServices(choreography, { THREAD_SERVICES: 'order, status' })).toEqual(['order', 'status']);
    expect(threadServices(choreography, { THREAD_SERVICES: 'none' })).toEqual([]);
    expect(threadServices(orchestration, { THREAD_SERVICES: 'orchestrator' })).toEqual(['orchestrator']);
  });

  it('refuses a name that is not a service of the saga mode, naming the variable and the rule', () => {
    expect(() => threadServices(choreography, { THREAD_SERVICES: 'order,shiping' })).toThrow(
      'THREAD_SERVICES: shiping is not a service this saga mode runs (one of status, inventory, payment, shipping, notification, order, or none)',
    );
    expect(() => threadServices(choreography, { THREAD_SERVICES: 'orchestrator' })).toThrow(/orchestrator is not a service this saga mode runs/);
  });

  it('keeps at least one service on the main thread, with the broker', () => {
    expect(() => threadServices(choreography, { THREAD_SERVICES: 'status,inventory,payment,shipping,notification,order' })).toThrow(/leave at least one service on the main thread/);
  });

  it('defaults to order, notification and shipping on more than one core, and to one thread on one core', () => {
    expect(threadServices(choreography, {}, 2)).toEqual(['order', 'notification', 'shipping']);
    expect(threadServices(orchestration, { THREAD_SERVICES: '' }, 8)).toEqual(['order', 'notification', 'shipping']);
    expect(threadServices(choreography, {}, 1)).toEqual([]);
  });
});
