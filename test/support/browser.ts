/**
 * Real-browser test support: Debian's Chromium driven by playwright-core (no Playwright browser download), a
 * guard that blocks and records every request leaving localhost, and the query API started in-process on a free
 * port with in-memory stand-ins for the streams runtime (as test/unit/api/api-server.test.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { createApiServer } from '../../api/index.js';
import type { QueryableStreams } from '../../api/api-contracts.js';
import type { KeyValue, ReadOnlyKeyValueStore } from '../../stores/contracts.js';
import { silentLogger } from '../../common/logger.js';

/** Where Debian's `chromium` package puts the browser (browser-setup.ts installs it when missing). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  readonly page: Page;
  readonly context: BrowserContext;
  /** URLs the page tried to load from anywhere but localhost (each was aborted). */
  readonly external: string[];
  /** Messages of uncaught page errors and console errors. */
  readonly errors: string[];
  close(): Promise<void>;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Launches Chromium with a fresh profile; every non-localhost request is aborted and recorded. */
export async function openBrowser(): Promise<Browser> {
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'usc-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  const external: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && LOCAL_HOSTS.has(url.hostname)) {
      return route.continue();
    }
    external.push(url.href);
    return route.abort('blockedbyclient');
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return {
    page,
    context,
    external,
    errors,
    close: async () => {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

function mapStore(entries: Record<string, unknown>): ReadOnlyKeyValueStore<unknown, unknown> {
  return {
    get: async (k) => entries[k as string],
    getMany: async (ks) => ks.map((k) => entries[k as string]),
    range: async function* () {},
    prefixScan: async function* (): AsyncIterable<KeyValue<unknown, unknown>> {},
    approximateNumEntries: async () => Object.keys(entries).length,
  };
}

/** One instance owning every partition; case `a1` exists. */
function fakeStreams(): QueryableStreams {
  const self = { memberId: 'm1', instanceId: 'i1', url: 'http://i1:8080', active: ['0_0'], standby: [] };
  const stores: Record<string, Record<string, unknown>> = {
    cases: { a1: { urpCaseId: 'a1', status: 'OPEN' } },
    history: { a1: { entries: [] } },
    index: {},
  };
  return {
    state: 'running',
    isReady: () => true,
    metadataForKey: () => ({ partition: 0, taskId: '0_0', active: self, standbys: [] }),
    localStore: (store) => ({ ok: true, kind: 'active', store: mapStore(stores[store] ?? {}), lag: 0 }),
    localTasks: () => ({ active: [{ id: '0_0', state: 'running', lag: 0 }], standby: [] }),
    hosts: () => [self],
  };
}

/** The shape of the service's topology (two sub-topologies joined by a repartition topic). */
export const TOPOLOGY_MERMAID = [
  'flowchart LR',
  '  subgraph sub0["Sub-topology 0"]',
  '    n_ucm_source(["source: ucm-source"])',
  '    n_validate["validate"]',
  '    n_rekey_sink(["sink: rekey-sink"])',
  '  end',
  '  t_ucm_events --> n_ucm_source',
  '  n_ucm_source --> n_validate',
  '  n_validate --> n_rekey_sink',
  '  n_rekey_sink --> t_repartition',
  '  subgraph sub1["Sub-topology 1"]',
  '    n_rekey_source(["source: rekey-source"])',
  '    n_reduce_case["reduce-case"]',
  '    n_case_sink(["sink: case-sink"])',
  '  end',
  '  t_repartition --> n_rekey_source',
  '  n_rekey_source --> n_reduce_case',
  '  n_reduce_case --> n_case_sink',
  '  n_reduce_case <--> s_cases',
  '  n_case_sink --> t_cases',
  '  t_ucm_events[/"ucm.case.events"/]',
  '  t_repartition[/"urp-case-sync-rekey-repartition (internal)"/]',
  '  t_cases[/"urp-case-sync"/]',
  '  s_cases[("store: cases")]',
].join('\n');

export interface RunningApi {
  readonly app: FastifyInstance;
  readonly baseUrl: string;
}

/** Starts the query API on 127.0.0.1 and a free port. */
export async function startApi(apiToken: string): Promise<RunningApi> {
  const app = createApiServer({
    streams: fakeStreams(),
    view: {
      caseStore: 'cases',
      historyStore: 'history',
      indexStore: 'index',
      toRecord: (v) => v,
      readHistory: async (store, key) =>
        ((await store.get(key)) as { entries: unknown[] } | undefined)?.entries,
      indexTarget: (v) => (v as { urp: string }).urp,
    },
    topology: {
      describe: () => 'Sub-topology: 0\nSub-topology: 1',
      describeMermaid: () => TOPOLOGY_MERMAID,
    },
    schemas: { caseRecord: { type: 'object' }, historyEntry: { type: 'object' } },
    registry: new Registry(),
    logger: silentLogger,
    instanceId: 'i1',
    selfUrl: 'http://i1:8080',
    version: 'browser-test',
    apiToken,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { app, baseUrl: `http://127.0.0.1:${port}` };
}

/**
 * For a test file: an in-process API with `apiToken` and a fresh headless Chromium, opened before all tests and
 * closed after them. Read `api` and `browser` inside tests (they are set once beforeAll ran).
 */
export function useBrowserAndApi(apiToken: string): { api: RunningApi; browser: Browser } {
  const shared = {} as { api: RunningApi; browser: Browser };
  beforeAll(async () => {
    shared.api = await startApi(apiToken);
    shared.browser = await openBrowser();
  });
  afterAll(async () => {
    await shared.browser?.close();
    await shared.api?.app.close();
  });
  return shared;
}
