/** Port helpers for the embedded broker. */
import net from 'node:net';
import { UscError } from '../../common/errors.js';

/** True when `host:port` can be bound right now. */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A port the OS reports free on `host` (bound to port 0, then released). Two calls in a row may return the same
 * port (it was released in between): for several ports at once use {@link freePorts} or {@link choosePorts}.
 */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** One port to choose: `port` 0 or omitted = any free port; `what` names it in errors ("broker"). */
export interface PortRequest {
  readonly port?: number;
  readonly what: string;
}

function bind(host: string, port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => resolve(server));
  });
}

function portOf(server: net.Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

const close = (server: net.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/**
 * Chooses one port per request, all distinct. Every port, requested or picked by the OS, stays bound until all
 * of them are chosen and only then are they released together: the OS cannot hand out a port that is still
 * bound, so two free ports can never come out equal (binding port 0, releasing it and binding port 0 again
 * can). A requested port that cannot be bound, or the same port requested twice, fails with
 * USC_ERR_KAFKA_LAUNCHER_PORT_TAKEN.
 */
export async function choosePorts(host: string, requests: readonly PortRequest[]): Promise<number[]> {
  const seen = new Map<number, string>();
  for (const r of requests) {
    if (!r.port) continue;
    const other = seen.get(r.port);
    if (other !== undefined) {
      throw new UscError(
        'USC_ERR_KAFKA_LAUNCHER_PORT_TAKEN',
        `the ${other} and ${r.what} ports are both ${host}:${r.port}: choose different ports`,
        { details: { host, port: r.port } },
      );
    }
    seen.set(r.port, r.what);
  }
  const held: net.Server[] = [];
  try {
    // Requested ports first, so that a port the OS picks for another request cannot take one of them.
    for (const r of requests) {
      if (!r.port) continue;
      try {
        held.push(await bind(host, r.port));
      } catch (err) {
        throw new UscError(
          'USC_ERR_KAFKA_LAUNCHER_PORT_TAKEN',
          `the ${r.what} port ${host}:${r.port} is already in use: stop what listens there, choose another port, or set KAFKA_BROKERS to use a running cluster`,
          { details: { host, port: r.port }, cause: err },
        );
      }
    }
    const picked: number[] = [];
    for (const r of requests) {
      if (r.port) {
        picked.push(r.port);
        continue;
      }
      const server = await bind(host, 0);
      held.push(server);
      picked.push(portOf(server));
    }
    return picked;
  } finally {
    await Promise.all(held.map(close));
  }
}

/** `count` distinct free ports on `host` (see {@link choosePorts}). */
export function freePorts(host: string, count: number): Promise<number[]> {
  return choosePorts(
    host,
    Array.from({ length: count }, (_, i) => ({ what: `port ${i + 1}` })),
  );
}
