import { describe, expect, it } from 'vitest';
import { murmur2, partitionFor } from './partitioner.ts';

const ascii = (text: string) => new TextEncoder().encode(text);

describe('murmur2', () => {
  // Reference values from Kafka's own test: org.apache.kafka.common.utils.UtilsTest.testMurmur2.
  it.each([
    { key: '21', hash: -973932308 },
    { key: 'foobar', hash: -790332482 },
    { key: 'a-little-bit-long-string', hash: -985981536 },
    { key: 'a-little-bit-longer-string', hash: -1486304829 },
    { key: 'lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', hash: -58897971 },
    { key: 'abc', hash: 479470107 },
  ])('given the bytes of "$key", when hashed, then it equals Kafka\'s Java murmur2 ($hash)', ({ key, hash }) => {
    expect(murmur2(ascii(key))).toBe(hash);
  });

  it('given keys of every tail length, when hashed, then the result is a signed 32-bit integer', () => {
    for (const key of ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'ümlaut-ключ-🔑']) {
      const hash = murmur2(ascii(key));
      expect(Number.isInteger(hash)).toBe(true);
      expect(hash).toBe(hash | 0);
    }
  });
});

describe('partitionFor', () => {
  it('given a key, when partitioned, then it is Kafka\'s toPositive(murmur2) modulo the partition count', () => {
    // toPositive(-790332482) = -790332482 & 0x7fffffff = 1357151166
    expect(partitionFor('foobar', 3)).toBe(1357151166 % 3);
    expect(partitionFor('foobar', 7)).toBe(1357151166 % 7);
  });

  it('given the same key, when partitioned repeatedly, then the partition never changes', () => {
    const key = '8a7c5f0e-1d2b-4c3a-9e8f-0123456789ab';
    const first = partitionFor(key, 12);

    for (let i = 0; i < 100; i++) expect(partitionFor(key, 12)).toBe(first);
  });

  it.each([1, 2, 3, 6, 12, 64])('given %i partitions, when many keys are partitioned, then each lands in range and all partitions are used', (partitions) => {
    const used = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const partition = partitionFor(`order-${i}`, partitions);
      expect(Number.isInteger(partition)).toBe(true);
      expect(partition).toBeGreaterThanOrEqual(0);
      expect(partition).toBeLessThan(partitions);
      used.add(partition);
    }

    expect(used.size).toBe(partitions);
  });
});
