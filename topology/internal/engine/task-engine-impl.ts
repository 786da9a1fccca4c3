/**
 * The per-task processing core shared by the Kafka runtime and the TopologyTestDriver (see task-engine.ts):
 * deserializes source records, walks the processor graph depth-first (a forward resolves when the whole
 * downstream sub-graph is done), serializes and partitions sink records into the collector, tracks stream time
 * and fires punctuations.
 */
import { UscError } from '../../../common/errors.js';
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
import type { IncomingRecord, TaskEngine, TaskEngineOptions } from '../../task-engine.js';
import type { TaskId } from '../../task-id.js';
import type { ProcessorNode, SinkNode, SourceNode, TopologyNode } from '../../topology.js';
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
    let key: unknown;
    let value: unknown;
    try {
      key = source.keySerde.deserialize(record.key);
      value = source.valueSerde.deserialize(record.value);
    } catch (cause) {
      throw new UscError('USC_ERR_SERDE_FAILED', `cannot deserialize a record of ${record.topic}`, {
        cause,
        details: { topic: record.topic, partition: record.partition, offset: record.offset },
      });
    }
    this.current = { topic: record.topic, partition: record.partition, offset: record.offset };
    // As in Kafka Streams, stream time includes the record being processed.
    if (record.timestamp > this.streamTimeValue) this.streamTimeValue = record.timestamp;
    try {
      const streamRecord: StreamRecord<unknown, unknown> = {
        key,
        value,
        timestamp: record.timestamp,
        headers: record.headers,
      };
      for (const child of source.children) await this.deliver(child, streamRecord);
    } finally {
      this.current = undefined;
    }
    await this.punctuations.fire('stream-time', this.streamTimeValue, (node, cb) =>
      this.inPunctuation(node, cb),
    );
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

  private async inPunctuation(_node: string, callback: () => void | Promise<void>): Promise<void> {
    const saved = this.current;
    this.current = undefined;
    try {
      await callback();
    } finally {
      this.current = saved;
    }
  }

  private node(name: string): TopologyNode {
    const node = this.options.subtopology.nodes.get(name);
    if (!node) throw new UscError('USC_ERR_TOPOLOGY_INVALID', `unknown node ${name}`);
    return node;
  }

  private async deliver(name: string, record: StreamRecord<unknown, unknown>): Promise<void> {
    const node = this.node(name);
    if (node.kind === 'processor') await this.processors.get(name)!.process(record);
    else if (node.kind === 'sink') this.send(node, record);
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
    this.options.collector.send({
      topic,
      partition,
      key: keyBytes,
      value: valueBytes,
      timestamp: record.timestamp,
      headers: record.headers,
    });
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
