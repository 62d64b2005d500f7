import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from './postgres.ts';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('telling an unreachable database from a failing statement', () => {
  it.each([
    ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a server shutting down (57P01)', withCode('terminating connection due to administrator command', '57P01')],
    ['a server starting up (57P03)', withCode('the database system is starting up', '57P03')],
    ['a connection exception (08006)', withCode('connection failure', '08006')],
    ['a connection cut mid-query', new Error('Connection terminated unexpectedly')],
    ['a pool that cannot connect in time', new Error('timeout exceeded when trying to connect')],
    ['a broken client', new Error('Client has encountered a connection error and is not queryable')],
    ['a wrapped cause', new Error('handler failed', { cause: withCode('read ECONNRESET', 'ECONNRESET') })],
  ])('given %s, then it is unavailability: waited out, never dead-lettered', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation (23505)', withCode('duplicate key value violates unique constraint', '23505')],
    ['a check violation (23514)', withCode('new row violates check constraint', '23514')],
    ['a handler bug', new TypeError("Cannot read properties of undefined (reading 'items')")],
    ['an injected failure', new Error('injected failure for sku FAIL')],
    ['not an error at all', 'boom'],
  ])('given %s, then it is the handler’s failure: retried, then dead-lettered', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});
