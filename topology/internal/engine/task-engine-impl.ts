/**
 * The per-task processing core shared by the Kafka runtime and the TopologyTestDriver (see task-engine.ts):
 * deserializes source records, walks the processor graph depth-first (a forward resolves when the whole
 * downstream sub-graph is done), serializes and partitions sink records into the collector, tracks stream time
 * and fires punctuations.
 */
import { UscError, isInstanceLevelError } from '../../../common/errors.js';
import { partitionForKey } from '../../../kafka/partitioner.js';
import type { KeyValueStore } from '../../../stores/contracts.js';
import type {
  Cancellable,
  Logger,
  Processor,
  ProcessorContext,
  PunctuationType,
  Punctuator,
} from '../../processor.js';
import type { RecordMetadata, StreamRecord } from '../../record.js';
import type { DeadLetter, RecordErrorResponse, RecordErrorStage, RecordFailure } from '../../record-error.js';
import type { IncomingRecord, OutgoingRecord, TaskEngine, TaskEngineOptions } from '../../task-engine.js';
import type { TaskId } from '../../task-id.js';
import type { ProcessorNode, SinkNode, SourceNode, TopologyNode } from '../../topology.js';
import { DeserializeFailure, describeErrorSafely } from './engine-errors.js';
import { PunctuationQueue } from './punctuation-queue.js';

export class TaskEngineImpl implements TaskEngine {
  readonly taskId: TaskId;
  private readonly processors = new Map<string, Processor>();
  private readonly contexts = new Map<string, ProcessorContext>();
  private readonly sourceByTopic = new Map<string, SourceNode>();
  private readonly punctuations = new PunctuationQueue();
  private streamTimeValue = -1;
  private current: RecordMetadata | undefined;
  private roundRobin = 0;
  /** Sink outputs of the record (or punctuation) being run; sent to the collector only if it succeeds. */
  private readonly staged: OutgoingRecord[] = [];
  /** The node running now (the innermost one when something throws). */
  private currentNode: string | undefined;

  constructor(private readonly options: TaskEngineOptions) {
    this.taskId = options.taskId;
    for (const node of options.subtopology.nodes.values()) {
      if (node.kind !== 'source') continue;
      for (const t of node.topics) this.sourceByTopic.set(options.resolveTopic(t, node.internal), node);
    }
  }

  async init(): Promise<void> {
    for (const node of this.options.subtopology.nodes.values()) {
      if (node.kind !== 'processor') continue;
      const processor = node.supplier();
      const ctx = this.contextFor(node);
      this.processors.set(node.name, processor);
      this.contexts.set(node.name, ctx);
    }
    for (const [name, processor] of this.processors) await processor.init?.(this.contexts.get(name)!);
  }

  async process(record: IncomingRecord): Promise<void> {
    const source = this.sourceByTopic.get(record.topic);
    if (!source) {
      throw new UscError(
        'USC_ERR_TOPOLOGY_INVALID',
        `task ${this.options.taskId.subtopology}_${this.options.taskId.partition} has no source for topic ${record.topic}`,
      );
    }
    this.current = { topic: record.topic, partition: record.partition, offset: record.offset };
    // As in Kafka Streams, stream time includes the record being processed.
    if (record.timestamp > this.streamTimeValue) this.streamTimeValue = record.timestamp;
    try {
      await this.guarded(record, source.name, async () => {
        let key: unknown;
        let value: unknown;
        try {
          key = source.keySerde.deserialize(record.key);
          value = source.valueSerde.deserialize(record.value);
        } catch (cause) {
          throw new DeserializeFailure(
            new UscError('USC_ERR_SERDE_FAILED', `cannot deserialize a record of ${record.topic}`, {
              cause,
              details: { topic: record.topic, partition: record.partition, offset: record.offset },
            }),
          );
        }
        const streamRecord: StreamRecord<unknown, unknown> = {
          key,
          value,
          timestamp: record.timestamp,
          headers: record.headers,
        };
        for (const child of source.children) await this.deliver(child, streamRecord);
      });
    } finally {
      this.current = undefined;
    }
    await this.punctuations.fire('stream-time', this.streamTimeValue, (node, cb) =>
      this.inPunctuation(node, cb),
    );
  }

  async processBatch(records: readonly IncomingRecord[]): Promise<void> {
    const first = records[0];
    if (first === undefined) return;
    const source = this.sourceByTopic.get(first.topic);
    const target = source?.children.length === 1 ? source.children[0]! : undefined;
    const batchProcessor = target === undefined ? undefined : this.processors.get(target);
    if (
      records.length === 1 ||
      !source ||
      !batchProcessor?.processBatch ||
      records.some((r) => r.topic !== first.topic)
    ) {
      for (const record of records) await this.process(record);
      return;
    }
    const decoded = this.deserializeAll(source, records);
    if (decoded === undefined) {
      // A record that cannot be deserialized is dead-lettered on its own: run the batch one record at a time.
      for (const record of records) await this.process(record);
      return;
    }
    for (const r of records) if (r.timestamp > this.streamTimeValue) this.streamTimeValue = r.timestamp;
    const ok = await this.guardedBatch(target!, () => batchProcessor.processBatch!(decoded));
    if (!ok) {
      // Something failed about one of the records: the batch left nothing behind; find it, one record at a time.
      for (const record of records) await this.process(record);
      return;
    }
    await this.punctuations.fire('stream-time', this.streamTimeValue, (node, cb) =>
      this.inPunctuation(node, cb),
    );
  }

  /** The source records deserialized, or undefined if one of them cannot be. */
  private deserializeAll(
    source: SourceNode,
    records: readonly IncomingRecord[],
  ): StreamRecord<unknown, unknown>[] | undefined {
    const out: StreamRecord<unknown, unknown>[] = [];
    try {
      for (const record of records) {
        out.push({
          key: source.keySerde.deserialize(record.key),
          value: source.valueSerde.deserialize(record.value),
          timestamp: record.timestamp,
          headers: record.headers,
        });
      }
    } catch {
      return undefined;
    }
    return out;
  }

  /**
   * Runs a whole batch as one unit. Returns false (with every store write and output of the batch dropped) when
   * it failed for a reason about a record; task-level failures are rethrown.
   */
  private async guardedBatch(node: string, run: () => void | Promise<void>): Promise<boolean> {
    const outcome = await this.unit(node, run);
    this.currentNode = undefined;
    return !outcome.failed;
  }

  /**
   * One unit (a record, a batch or a punctuation): a savepoint first, sink outputs held apart and sent only if it
   * succeeds. On a failure its store writes are rolled back; failures of the task itself are rethrown, the others
   * returned.
   */
  private async unit(
    node: string,
    run: () => void | Promise<void>,
  ): Promise<{ readonly failed: false } | { readonly failed: true; readonly err: unknown }> {
    const { options } = this;
    options.undo?.savepoint();
    this.staged.length = 0;
    this.currentNode = node;
    try {
      await run();
      for (const out of this.staged) options.collector.send(out);
      return { failed: false };
    } catch (err) {
      options.undo?.rollback();
      if (isInstanceLevelError(err)) throw err;
      return { failed: true, err };
    } finally {
      this.staged.length = 0;
    }
  }

  punctuateWallClock(now: number): Promise<boolean> {
    return this.punctuations.fire('wall-clock', now, (node, cb) => this.inPunctuation(node, cb));
  }

  streamTime(): number {
    return this.streamTimeValue;
  }

  async close(): Promise<void> {
    for (const processor of this.processors.values()) await processor.close?.();
  }

  private async inPunctuation(node: string, callback: () => void | Promise<void>): Promise<void> {
    const saved = this.current;
    this.current = undefined;
    try {
      await this.guarded(undefined, node, callback);
    } finally {
      this.current = saved;
    }
  }

  /**
   * Runs one record (or one punctuation) as a unit: a savepoint first; sink outputs held apart until it succeeds.
   * On a failure about this record, its store writes and outputs are dropped and the topology's record-error
   * policy decides (dead letters and go on, or fail). Failures of the task itself are rethrown untouched.
   */
  private async guarded(
    record: IncomingRecord | undefined,
    startNode: string,
    run: () => void | Promise<void>,
  ): Promise<void> {
    const { options } = this;
    const outcome = await this.unit(startNode, run);
    if (!outcome.failed) return;
    const err = outcome.err;
    const stage: RecordErrorStage =
      record === undefined ? 'punctuate' : err instanceof DeserializeFailure ? 'deserialize' : 'process';
    const error = err instanceof DeserializeFailure ? err.cause : err;
    const failure: RecordFailure = {
      stage,
      taskId: this.taskId,
      node: this.currentNode,
      error,
      record,
      nowMs: options.clock(),
    };
    const response = this.handle(failure);
    options.onRecordError?.(failure, response.action);
    if (response.action === 'fail') {
      throw new UscError(
        'USC_ERR_RECORD_FAILED',
        record === undefined
          ? `a punctuation of ${failure.node ?? '?'} failed and the record-error policy says fail`
          : `record ${record.topic}-${record.partition}@${record.offset} failed in ${failure.node ?? '?'} (${stage}) and the record-error policy says fail`,
        { cause: error, details: { stage, node: failure.node } },
      );
    }
    for (const dl of response.deadLetters) this.sendDeadLetter(dl, record?.timestamp ?? failure.nowMs);
  }

  /** The topology's decision; no policy, or a handler that throws, means fail. */
  private handle(failure: RecordFailure): RecordErrorResponse {
    const policy = this.options.topology.recordErrorPolicy;
    if (!policy) return { action: 'fail' };
    try {
      return policy.handler(failure);
    } catch (handlerError) {
      this.options.logger.error(
        { err: describeErrorSafely(handlerError), stage: failure.stage, node: failure.node },
        'the record-error handler threw; the task fails',
      );
      return { action: 'fail' };
    }
  }

  private sendDeadLetter(dl: DeadLetter, timestamp: number): void {
    const topic = this.options.topology.recordErrorPolicy!.deadLetterTopic;
    const n = this.options.partitionsFor(topic);
    this.options.collector.send({
      topic,
      partition: dl.key !== null ? partitionForKey(dl.key, n) : this.roundRobin++ % n,
      key: dl.key,
      value: dl.value,
      timestamp,
      headers: dl.headers ?? {},
    });
  }

  private node(name: string): TopologyNode {
    const node = this.options.subtopology.nodes.get(name);
    if (!node) throw new UscError('USC_ERR_TOPOLOGY_INVALID', `unknown node ${name}`);
    return node;
  }

  private async deliver(name: string, record: StreamRecord<unknown, unknown>): Promise<void> {
    const node = this.node(name);
    // Not restored when the node throws: the failure then names the innermost node that failed.
    const parent = this.currentNode;
    this.currentNode = name;
    if (node.kind === 'processor') await this.processors.get(name)!.process(record);
    else if (node.kind === 'sink') this.send(node, record);
    this.currentNode = parent;
  }

  private send(sink: SinkNode, record: StreamRecord<unknown, unknown>): void {
    const topic = this.options.resolveTopic(sink.topic, sink.internal);
    let keyBytes: Buffer | null;
    let valueBytes: Buffer | null;
    try {
      keyBytes = sink.keySerde.serialize(record.key);
      valueBytes = sink.valueSerde.serialize(record.value);
    } catch (cause) {
      throw new UscError(
        'USC_ERR_SERDE_FAILED',
        `cannot serialize a record for ${topic} (sink ${sink.name})`,
        { cause },
      );
    }
    const n = this.options.partitionsFor(topic);
    const partition = sink.partitioner
      ? sink.partitioner(record.key, record.value, keyBytes, n)
      : keyBytes !== null
        ? partitionForKey(keyBytes, n)
        : this.roundRobin++ % n;
    if (!Number.isInteger(partition) || partition < 0 || partition >= n) {
      throw new UscError(
        'USC_ERR_TOPOLOGY_INVALID',
        `sink ${sink.name} chose partition ${partition} of ${n}`,
      );
    }
    // A literal and, for a latest-per-key sink, one property added after it: a conditional spread inside the literal
    // takes V8's slow path (per record here).
    const out: { -readonly [F in keyof OutgoingRecord]: OutgoingRecord[F] } = {
      topic,
      partition,
      key: keyBytes,
      value: valueBytes,
      timestamp: record.timestamp,
      headers: record.headers,
    };
    if (sink.latestPerKey) out.latestPerKey = true;
    this.staged.push(out);
  }

  /** The partition `sink` sends `key` to (by its partitioner, else the key's hash; -1 for a null key). */
  private partitionOf(sink: SinkNode, key: unknown, value: unknown): number {
    const topic = this.options.resolveTopic(sink.topic, sink.internal);
    const keyBytes = sink.keySerde.serialize(key);
    const n = this.options.partitionsFor(topic);
    if (sink.partitioner) return sink.partitioner(key, value, keyBytes, n);
    return keyBytes === null ? -1 : partitionForKey(keyBytes, n);
  }

  private contextFor(node: ProcessorNode): ProcessorContext {
    const { options } = this;
    const deliver = (name: string, record: StreamRecord<unknown, unknown>) => this.deliver(name, record);
    const punctuations = this.punctuations;
    const streamTime = () => this.streamTimeValue;
    const current = () => this.current;
    const logger: Logger = options.logger.child({ processor: node.name });
    return {
      applicationId: options.applicationId,
      taskId: options.taskId,
      logger,
      async forward(record: StreamRecord<unknown, unknown>, childName?: string): Promise<void> {
        if (childName !== undefined) {
          if (!node.children.includes(childName)) {
            throw new UscError('USC_ERR_TOPOLOGY_INVALID', `${node.name} has no child ${childName}`);
          }
          return deliver(childName, record);
        }
        for (const child of node.children) await deliver(child, record);
      },
      getStateStore<K, V>(name: string): KeyValueStore<K, V> {
        const store = node.stores.includes(name) ? options.stores.get(name) : undefined;
        if (!store) {
          throw new UscError(
            'USC_ERR_STORE_UNKNOWN',
            `processor ${node.name} is not connected to a store named ${name}`,
          );
        }
        return store as KeyValueStore<K, V>;
      },
      schedule(intervalMs: number, type: PunctuationType, callback: Punctuator): Cancellable {
        return punctuations.schedule(node.name, intervalMs, type, callback, options.clock());
      },
      partitionFor: (childName: string, key: unknown): number => {
        const sink = node.children.includes(childName) ? this.node(childName) : undefined;
        if (sink?.kind !== 'sink') {
          throw new UscError('USC_ERR_TOPOLOGY_INVALID', `${node.name} has no sink child ${childName}`);
        }
        return this.partitionOf(sink, key, undefined);
      },
      currentStreamTimeMs: streamTime,
      currentSystemTimeMs: () => options.clock(),
      recordMetadata: current,
      requestCommit: () => options.onCommitRequested?.(),
    };
  }
}

/** Builds the engine of one task (see {@link TaskEngine}). */
export function createTaskEngine(options: TaskEngineOptions): TaskEngine {
  return new TaskEngineImpl(options);
}
