import { type Server, type Socket, connect, createServer } from 'node:net';

/**
 * A TCP proxy in front of a Kafka listener that can lose one Produce response: the broker
 * gets the request and appends it, the client sees its connection drop, and the proxy
 * then refuses connections for a while, as a broker outage would look from the client.
 * The broker must advertise the proxy's port for that listener (KafkaBrokerOptions.proxied),
 * so that every connection of the client goes through it.
 */
export interface KafkaProxy {
  port: number;
  /** Arms the proxy: the next Produce request's response is dropped. Resolves once it was, and connections are accepted again. */
  loseNextProduceResponse(refuseMs: number): Promise<void>;
  close(): Promise<void>;
}

const PRODUCE_API_KEY = 0;

/** Splits a byte stream into Kafka frames (a 4-byte size, then that many bytes). */
function framer(onFrame: (frame: Buffer) => void) {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const size = pending.readInt32BE(0);
      onFrame(pending.subarray(0, 4 + size));
      pending = pending.subarray(4 + size);
    }
  };
}

export async function startKafkaProxy(port: number, targetPort: number): Promise<KafkaProxy> {
  let armed: { refuseMs: number; dropped: () => void } | undefined;
  const sockets = new Set<Socket>();
  let server: Server;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer(onConnection);
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });

  /** Stops listening and drops every connection. */
  const shut = async () => {
    const closed = new Promise((resolve) => server.close(resolve)); // resolves once every connection has ended
    for (const socket of sockets) socket.destroy();
    await closed;
  };

  const refuseFor = async (ms: number) => {
    await shut();
    await new Promise((resolve) => setTimeout(resolve, ms));
    await listen();
  };

  function onConnection(client: Socket) {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const doomed = new Set<number>(); // correlation ids of Produce requests whose response is lost
    // Requests pass through as they come; the proxy only notes which one to lose.
    const readRequests = framer((frame) => {
      if (armed && frame.readInt16BE(4) === PRODUCE_API_KEY) doomed.add(frame.readInt32BE(8));
    });
    client.on('data', (chunk: Buffer) => {
      readRequests(chunk);
      upstream.write(chunk);
    });
    // Responses pass whole frames, so that the lost one is never half-sent.
    upstream.on(
      'data',
      framer((frame) => {
        if (!doomed.has(frame.readInt32BE(4)) || !armed) {
          client.write(frame);
          return;
        }
        const { refuseMs, dropped } = armed;
        armed = undefined;
        void refuseFor(refuseMs).then(dropped);
      }),
    );
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }

  await listen();
  return {
    port,
    loseNextProduceResponse: (refuseMs) => new Promise<void>((dropped) => (armed = { refuseMs, dropped })),
    close: () => {
      armed = undefined;
      return shut();
    },
  };
}
