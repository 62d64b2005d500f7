// Waits until the broker and the database the environment names accept TCP connections,
// so that a service started before them waits instead of crashing (Kubernetes init
// container, and the image's start command). Reads the variables config.ts reads:
// BUS, KAFKA_BROKERS / KAFKA_BROKER, NATS_URL, DATABASE_URL. Nothing named: returns at once.
import { connect } from 'node:net';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

/** host:port pairs to wait for, grouped: one reachable address of a group is enough (any broker of a cluster). */
export function dependenciesOf(env) {
  const blank = (v) => (v === undefined || v.trim() === '' ? undefined : v.trim());
  const brokers = blank(env.KAFKA_BROKERS) ?? blank(env.KAFKA_BROKER);
  const natsUrl = blank(env.NATS_URL);
  const bus = blank(env.BUS) ?? (brokers ? 'kafka' : natsUrl ? 'nats' : 'embedded');
  const groups = [];
  if (bus === 'kafka' && brokers) {
    groups.push({ name: 'kafka', addresses: brokers.split(',').map((b) => hostPort(b.trim(), 9092)) });
  }
  if (bus === 'nats') {
    const urls = (natsUrl ?? 'nats://127.0.0.1:4222').split(',').map((u) => new URL(u.trim().replace(/^(nats|tls|ws|wss):/, 'http:')));
    groups.push({ name: 'nats', addresses: urls.map((u) => ({ host: u.hostname, port: Number(u.port || 4222) })) });
  }
  const databaseUrl = blank(env.DATABASE_URL);
  if (databaseUrl) {
    const u = new URL(databaseUrl.replace(/^postgres(ql)?:/, 'http:'));
    groups.push({ name: 'postgres', addresses: [{ host: u.hostname, port: Number(u.port || 5432) }] });
  }
  return groups;
}

function hostPort(text, defaultPort) {
  const i = text.lastIndexOf(':');
  return i === -1 ? { host: text, port: defaultPort } : { host: text.slice(0, i), port: Number(text.slice(i + 1)) };
}

const reachable = ({ host, port }) =>
  new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2_000 });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });

export async function waitForDependencies(env, { timeoutMs = 300_000, log = console.log } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (const group of dependenciesOf(env)) {
    const where = group.addresses.map((a) => `${a.host}:${a.port}`).join(', ');
    for (let attempt = 0; ; attempt++) {
      const results = await Promise.all(group.addresses.map(reachable));
      if (results.some(Boolean)) {
        log(`wait-for-dependencies: ${group.name} reachable at ${where}`);
        break;
      }
      if (Date.now() > deadline) throw new Error(`${group.name} not reachable at ${where} after ${Math.round(timeoutMs / 1000)}s`);
      if (attempt % 5 === 0) log(`wait-for-dependencies: waiting for ${group.name} at ${where}`);
      await sleep(2_000);
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await waitForDependencies(process.env);
  } catch (error) {
    console.error(`wait-for-dependencies: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
