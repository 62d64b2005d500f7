import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';

const busOf = (env: Record<string, string>) => loadConfig(env).bus;

describe('choosing the bus from the environment', () => {
  it('given nothing about a broker, when loading, then the embedded broker is used', () => {
    expect(busOf({})).toEqual({ kind: 'embedded' });
  });

  it('given KAFKA_BROKER (document 001) or KAFKA_BROKERS, when loading, then Kafka is used, even with NATS_URL set', () => {
    expect(busOf({ KAFKA_BROKER: 'kafka:9092' })).toMatchObject({ kind: 'kafka', brokers: ['kafka:9092'], clientId: 'orderflow', replicationFactor: 1, ssl: false });
    expect(busOf({ KAFKA_BROKERS: 'a:9092, b:9093', NATS_URL: 'nats://n:4222' })).toMatchObject({ kind: 'kafka', brokers: ['a:9092', 'b:9093'] });
  });

  it('given NATS_URL only, when loading, then NATS is used with the stream prefix', () => {
    expect(busOf({ NATS_URL: 'nats://n:4222', NATS_STREAM_PREFIX: 'run1' })).toEqual({ kind: 'nats', url: 'nats://n:4222', streamPrefix: 'run1' });
  });

  it('given BUS, when loading, then it wins over the detected broker', () => {
    expect(busOf({ BUS: 'embedded', KAFKA_BROKERS: 'a:9092' })).toEqual({ kind: 'embedded' });
    expect(busOf({ BUS: 'nats' })).toEqual({ kind: 'nats', url: 'nats://127.0.0.1:4222', streamPrefix: 'orderflow' });
  });

  it('given SASL and TLS settings, when loading, then they reach the Kafka settings', () => {
    expect(
      busOf({ KAFKA_BROKERS: 'a:9096', KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }),
    ).toMatchObject({ kind: 'kafka', ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } });
  });

  it('given KAFKA_PREFIX, when loading, then it reaches the Kafka settings; unset, it is empty', () => {
    expect(busOf({ KAFKA_BROKERS: 'a:9092', KAFKA_PREFIX: 'bench_1a2b.' })).toMatchObject({ kind: 'kafka', prefix: 'bench_1a2b.' });
    expect(busOf({ KAFKA_BROKERS: 'a:9092' })).toMatchObject({ kind: 'kafka', prefix: '' });
  });

  it.each([
    [{ BUS: 'kafka' }, 'KAFKA_BROKERS: required when BUS=kafka'],
    [{ BUS: 'rabbitmq' }, 'BUS:'],
    [{ KAFKA_BROKERS: 'kafka' }, 'KAFKA_BROKERS: must be a comma-separated list of host:port'],
    [{ NATS_URL: 'http://n:4222' }, 'NATS_URL: must be nats://host:port'],
    [{ KAFKA_BROKERS: 'a:1', KAFKA_SASL_MECHANISM: 'plain' }, 'KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM=plain'],
    [{ KAFKA_BROKERS: 'a:1', KAFKA_SASL_MECHANISM: 'gssapi' }, 'KAFKA_SASL_MECHANISM:'],
    [{ NATS_URL: 'nats://n:4222', NATS_STREAM_PREFIX: 'a.b' }, 'NATS_STREAM_PREFIX: must be letters'],
    [{ KAFKA_BROKERS: 'a:1', KAFKA_PREFIX: 'run 1/' }, 'KAFKA_PREFIX: must be letters, digits, ., _ or -'],
  ])('given %o, when loading, then the error names the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
