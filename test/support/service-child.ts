/**
 * Child-process entry running one full urp-case-sync instance (streams + API) from env settings, exactly as
 * `urp-case-sync start` wires it. IPC in: {cmd: 'tasks' | 'hosts' | 'close', id}. IPC out: {event: 'state'},
 * {event: 'ready'}, {event: 'listening', data: url}, {event: 'reply', id, data}, {event: 'fatal', error}.
 */
import { createLogger } from '../../common/logger.js';
import { loadServiceConfig, rawSettings } from '../../cli/config.js';
import { startService } from '../../cli/service.js';

const send = (msg: object): void => {
  process.send?.(msg);
};

async function main(): Promise<void> {
  const config = loadServiceConfig(rawSettings({}, process.env));
  const logger = createLogger(config.logLevel, { test: true });
  const service = await startService(config, config.kafkaBrokers!, logger);
  const { streams } = service;
  send({ event: 'listening', data: service.url });
  const report = (state: string) => {
    send({ event: 'state', state });
    if (state === 'running' && streams.isReady()) send({ event: 'ready' });
    if (state === 'error') send({ event: 'fatal', error: String(streams.error) });
  };
  streams.onStateChange(report);
  report(streams.state);
  process.on('message', async (msg: { cmd: string; id: number }) => {
    let data: unknown;
    if (msg.cmd === 'tasks') data = { ...streams.localTasks(), ready: streams.isReady() };
    else if (msg.cmd === 'hosts') data = streams.hosts();
    else if (msg.cmd === 'positions') data = streams.debugPositions();
    else if (msg.cmd === 'close') {
      await service.close();
      send({ event: 'reply', id: msg.id, data: 'closed' });
      process.exit(0);
    }
    send({ event: 'reply', id: msg.id, data });
  });
}

main().catch((err: unknown) => {
  send({ event: 'fatal', error: String((err as Error)?.stack ?? err) });
  process.exit(1);
});
