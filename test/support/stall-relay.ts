import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay in front of a server (the S3 emulator) that can stall: while stalled it still accepts
 * connections and reads what clients send, but forwards nothing either way, as a store that hangs does. On
 * `resume()` it forwards what it held, unless the client gave up meanwhile (closed its side): then the held
 * bytes are dropped, as they would never have reached a real server.
 */
export interface StallRelay {
  /** `http://127.0.0.1:<port>`: point the client here instead of at the target */
  url: string;
  stall(): void;
  resume(): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket | null;
  /** bytes from the client not yet forwarded (stalled, or upstream still connecting) */
  toUpstream: Buffer[];
  /** bytes from the server not yet forwarded (stalled) */
  toClient: Buffer[];
}

export async function startStallRelay(targetPort: number, targetHost = '127.0.0.1'): Promise<StallRelay> {
  let stalled = false;
  const pairs = new Set<Pair>();

  const flush = (pair: Pair) => {
    if (stalled) return;
    if (pair.upstream && !pair.upstream.connecting) {
      for (const b of pair.toUpstream.splice(0)) pair.upstream.write(b);
    }
    for (const b of pair.toClient.splice(0)) pair.client.write(b);
  };

  const openUpstream = (pair: Pair) => {
    const upstream = connect(targetPort, targetHost);
    pair.upstream = upstream;
    upstream.on('connect', () => flush(pair));
    upstream.on('data', (b: Buffer) => {
      pair.toClient.push(b);
      flush(pair);
    });
    const end = () => {
      if (stalled) return; // the close reaches the client with the rest once resumed (or never)
      pair.client.end();
    };
    upstream.on('end', end);
    upstream.on('error', () => pair.client.destroy());
    upstream.on('close', () => {
      if (!stalled) pair.client.destroy();
    });
  };

  const server: Server = createServer((client) => {
    const pair: Pair = { client, upstream: null, toUpstream: [], toClient: [] };
    pairs.add(pair);
    client.on('data', (b: Buffer) => {
      pair.toUpstream.push(b);
      if (!pair.upstream && !stalled) openUpstream(pair);
      flush(pair);
    });
    const gone = () => {
      pairs.delete(pair);
      pair.toUpstream = [];
      pair.upstream?.destroy();
    };
    client.on('error', gone);
    client.on('close', gone);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('relay: no port');

  return {
    url: `http://127.0.0.1:${address.port}`,
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      for (const pair of pairs) {
        if (pair.client.destroyed) continue;
        if (!pair.upstream && pair.toUpstream.length > 0) openUpstream(pair);
        flush(pair);
        if (pair.upstream?.destroyed) pair.client.end();
      }
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream?.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
