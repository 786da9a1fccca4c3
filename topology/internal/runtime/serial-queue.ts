/**
 * Runs async jobs one at a time in submission order. A task's processing, punctuation, commit and close all go
 * through its queue, so they never interleave even though each awaits I/O.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private runningLabel: string | undefined;
  private runningSince = 0;

  /**
   * Queues `job`; resolves/rejects with its outcome. A failing job does not block the ones after it. `label`
   * names the job while it runs (see {@link current}).
   */
  run<T>(job: () => Promise<T>, label = 'job'): Promise<T> {
    this.pending++;
    const result = this.tail.then(async () => {
      this.runningLabel = label;
      this.runningSince = Date.now();
      try {
        return await job();
      } finally {
        this.runningLabel = undefined;
      }
    });
    this.tail = result.then(
      () => this.pending--,
      () => this.pending--,
    );
    return result;
  }

  /** The job running now and since when (epoch ms), if any: how a stuck task is noticed. */
  get current(): { readonly label: string; readonly sinceMs: number } | undefined {
    return this.runningLabel === undefined
      ? undefined
      : { label: this.runningLabel, sinceMs: this.runningSince };
  }

  /** Jobs queued or running. */
  get size(): number {
    return this.pending;
  }

  /** Resolves when every job queued so far has finished. */
  async drain(): Promise<void> {
    await this.tail;
  }
}
