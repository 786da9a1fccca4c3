/**
 * The lifecycle of a KafkaStreams instance: created -> rebalancing <-> running -> pending_shutdown -> not_running,
 * or error after a fatal failure. Transitions out of not_running never happen, error only leads to not_running,
 * pending_shutdown only to not_running or error; any other request is ignored. Listeners hear every change.
 */
import type { Logger } from '../../processor.js';

/** The state of a streams instance (Kafka Streams' `KafkaStreams.State`, lower case). */
export type StreamsState =
  'created' | 'rebalancing' | 'running' | 'pending_shutdown' | 'not_running' | 'error';

/** Called after every state change, with the new and the previous state. */
export type StreamsStateListener = (state: StreamsState, previous: StreamsState) => void;

/** The state machine of one instance, with its listeners; every change is logged at info. */
export class StreamsLifecycle {
  private value: StreamsState = 'created';
  private readonly listeners: StreamsStateListener[] = [];

  constructor(private readonly logger: Logger) {}

  get state(): StreamsState {
    return this.value;
  }

  /** The instance is stopping or stopped (pending_shutdown, not_running or error). */
  get stopping(): boolean {
    return this.value === 'pending_shutdown' || this.value === 'not_running' || this.value === 'error';
  }

  onChange(listener: StreamsStateListener): void {
    this.listeners.push(listener);
  }

  /** Moves to `next` if that transition is allowed (see the module comment); otherwise does nothing. */
  set(next: StreamsState): void {
    const previous = this.value;
    if (
      previous === next ||
      previous === 'not_running' ||
      (previous === 'error' && next !== 'not_running') ||
      (previous === 'pending_shutdown' && next !== 'not_running' && next !== 'error')
    )
      return;
    this.value = next;
    this.logger.info({ state: next, previous }, 'streams state changed');
    for (const l of this.listeners) l(next, previous);
  }

  /**
   * The end of a close: moves to not_running from whatever state the instance is in, reported to listeners as a
   * change from `created`.
   */
  closed(): void {
    this.value = 'created';
    this.set('not_running');
  }
}
