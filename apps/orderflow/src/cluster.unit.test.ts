import { describe, expect, it } from 'vitest';
import { type RestartPolicy, afterCrash } from './cluster.ts';

const policy: RestartPolicy = { maxCrashes: 4, windowMs: 60_000, initialBackoffMs: 500, maxBackoffMs: 1_500 };

describe('the restart policy of a crashed service (npm run start:cluster)', () => {
  it('given crashes within the window, when each is decided, then the back-off doubles up to its cap, and the last one gives up', () => {
    const crashes: number[] = [];
    expect(afterCrash(policy, crashes, 1_000)).toEqual({ giveUp: false, delayMs: 500 });
    expect(afterCrash(policy, crashes, 2_000)).toEqual({ giveUp: false, delayMs: 1_000 });
    expect(afterCrash(policy, crashes, 3_000)).toEqual({ giveUp: false, delayMs: 1_500 });
    expect(afterCrash(policy, crashes, 4_000)).toEqual({ giveUp: true });
  });

  it('given crashes older than the window, when a new one is decided, then they no longer count: a service that crashes now and then is always restarted', () => {
    const crashes: number[] = [];
    for (let i = 0; i < 10; i++) expect(afterCrash(policy, crashes, i * 61_000)).toEqual({ giveUp: false, delayMs: 500 });
    expect(crashes).toHaveLength(1);
  });
});
