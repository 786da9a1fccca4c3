/**
 * Keeps asking random running instances for random known cases while a scenario runs, and records every answer,
 * so a test can assert the API kept answering 200, 404 (case not processed yet) or a documented 503 with
 * Retry-After throughout. Connection failures to an instance that is being killed are not API answers and are
 * counted separately.
 */
import type { Cluster } from './cluster.js';

export class ApiProber {
  readonly answers = new Map<string, number>();
  refused = 0;
  private running = true;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly cluster: Cluster,
    private readonly ids: () => readonly string[],
  ) {}

  start(): this {
    this.loop = (async () => {
      while (this.running) {
        const members = this.cluster.running();
        const ids = this.ids();
        if (members.length > 0 && ids.length > 0) {
          const m = members[Math.floor(Math.random() * members.length)]!;
          const id = ids[Math.floor(Math.random() * ids.length)]!;
          try {
            const res = await this.cluster.get(m, `/cases/${id}`);
            const key =
              res.status === 503 && res.headers.get('retry-after') !== '1'
                ? '503-without-retry-after'
                : String(res.status);
            this.answers.set(key, (this.answers.get(key) ?? 0) + 1);
          } catch {
            this.refused++;
          }
        }
        await new Promise((r) => setTimeout(r, 25)); // request pacing, not a wait for a condition
      }
    })();
    return this;
  }

  async stop(): Promise<Record<string, number>> {
    this.running = false;
    await this.loop;
    return Object.fromEntries(this.answers);
  }
}
