/**
 * Port choice of the embedded broker. Choosing the broker port and then the controller port, each by binding port
 * 0 and releasing it, once gave both the same port ("broker and controller ports are both 39161"): choosePorts holds
 * every chosen port bound until all are chosen, so the ports it returns are always distinct.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { hasCode } from '../../../common/errors.js';
import { choosePorts, freePorts, isPortFree } from '../../../kafka/embedded/free-port.js';

const HOST = '127.0.0.1';
const open: net.Server[] = [];

function listen(port = 0): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: HOST, port, exclusive: true }, () => {
      open.push(server);
      resolve(server);
    });
  });
}

const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected a rejection'),
    (err: unknown) => err,
  );
}

describe('choosePorts', () => {
  it('never returns the same port twice for the broker and the controller (300 rounds)', async () => {
    for (let round = 0; round < 300; round++) {
      const [broker, controller] = await choosePorts(HOST, [{ what: 'broker' }, { what: 'controller' }]);
      expect(broker).toBeGreaterThan(0);
      expect(controller).toBeGreaterThan(0);
      expect(broker, `round ${round}`).not.toBe(controller);
    }
  });

  it('returns distinct ports for larger sets too, and releases them all', async () => {
    for (let round = 0; round < 50; round++) {
      const ports = await freePorts(HOST, 4);
      expect(new Set(ports).size, `round ${round}: ${ports.join(',')}`).toBe(4);
    }
    const ports = await freePorts(HOST, 3);
    for (const port of ports) expect(await isPortFree(HOST, port)).toBe(true);
  });

  it('keeps a requested port and picks the other one elsewhere', async () => {
    for (let round = 0; round < 50; round++) {
      const [requested] = await freePorts(HOST, 1);
      const [broker, controller] = await choosePorts(HOST, [
        { port: requested, what: 'broker' },
        { what: 'controller' },
      ]);
      expect(broker).toBe(requested);
      expect(controller).not.toBe(requested);
    }
  });

  it('fails with USC_ERR_KAFKA_LAUNCHER_PORT_TAKEN for a requested port in use, naming it', async () => {
    const taken = portOf(await listen());
    const err = await rejection(choosePorts(HOST, [{ what: 'broker' }, { port: taken, what: 'controller' }]));
    expect(hasCode(err, 'USC_ERR_KAFKA_LAUNCHER_PORT_TAKEN')).toBe(true);
    expect((err as Error).message).toContain(`controller port ${HOST}:${taken} is already in use`);
  });

  it('refuses the same port requested for both, without binding anything', async () => {
    const [port] = await freePorts(HOST, 1);
    const err = await rejection(
      choosePorts(HOST, [
        { port, what: 'broker' },
        { port, what: 'controller' },
      ]),
    );
    expect(hasCode(err, 'USC_ERR_KAFKA_LAUNCHER_PORT_TAKEN')).toBe(true);
    expect((err as Error).message).toContain(`broker and controller ports are both ${HOST}:${port}`);
    expect(await isPortFree(HOST, port!)).toBe(true);
  });

  it('releases the ports it held when a later one cannot be bound', async () => {
    const [free] = await freePorts(HOST, 1);
    const taken = portOf(await listen());
    await rejection(
      choosePorts(HOST, [
        { port: free, what: 'broker' },
        { port: taken, what: 'controller' },
      ]),
    );
    expect(await isPortFree(HOST, free!)).toBe(true);
  });
});
