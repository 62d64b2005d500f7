import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

const DAY = 86_400_000;

describe('retention settings', () => {
  it('given nothing, when loading, then inbox rows are kept 7 days and the broker keeps everything', () => {
    expect(loadConfig({}).retention).toEqual({ inboxMs: 7 * DAY, brokerMs: undefined });
    expect(loadConfig({ INBOX_RETENTION: '', BROKER_RETENTION: 'forever' }).retention).toEqual({ inboxMs: 7 * DAY, brokerMs: undefined });
  });

  it('given durations, when loading, then they are read in their units', () => {
    expect(loadConfig({ INBOX_RETENTION: '36h', BROKER_RETENTION: '30d' }).retention).toEqual({ inboxMs: 36 * 3_600_000, brokerMs: 30 * DAY });
    expect(loadConfig({ INBOX_RETENTION: '90m', BROKER_RETENTION: '500ms' }).retention).toEqual({ inboxMs: 90 * 60_000, brokerMs: 500 });
  });

  it.each([
    [{ INBOX_RETENTION: '7 days' }, 'INBOX_RETENTION: must be a duration'],
    [{ INBOX_RETENTION: '168' }, 'INBOX_RETENTION: must be a duration'],
    [{ INBOX_RETENTION: '30m' }, 'INBOX_RETENTION: must be at least 1h'],
    [{ BROKER_RETENTION: 'never' }, 'BROKER_RETENTION: must be forever or a duration above zero'],
    [{ BROKER_RETENTION: '0d' }, 'BROKER_RETENTION: must be forever or a duration above zero'],
  ])('given %o, when loading, then the error names the variable and the rule', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
