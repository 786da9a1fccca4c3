/** Topology building: validation, subtopology split at repartition topics, descriptions, partition counts. */
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../../common/errors.js';
import { keyValueStore } from '../../../stores/store-factory.js';
import { wordCountTopology } from '../../../topology/examples/word-count.js';
import { resolvePartitionCounts } from '../../../topology/partitions.js';
import { TopologyBuilder } from '../../../topology/topology-builder.js';

const noop = () => ({ process: () => {} });
const invalid = (fn: () => unknown, text: string) => {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(hasCode(err, 'USC_ERR_TOPOLOGY_INVALID'), String(err)).toBe(true);
  expect((err as Error).message).toContain(text);
};

describe('TopologyBuilder', () => {
  it('splits the graph into subtopologies at repartition topics', () => {
    const t = wordCountTopology('in', 'out');
    expect(t.subtopologies).toHaveLength(2);
    const [first, second] = t.subtopologies;
    expect([...first!.nodes.keys()]).toEqual(['sentences', 'split', 'words-sink']);
    expect(first!.sourceTopics).toEqual(['in']);
    expect(first!.sinkTopics).toEqual(['words']);
    expect([...second!.nodes.keys()]).toEqual(['words', 'count', 'out']);
    expect(second!.stores).toEqual(['counts']);
    expect(t.internalTopics.get('words')).toMatchObject({ kind: 'repartition', partitions: undefined });
  });

  it('rejects malformed graphs with the offending name', () => {
    invalid(
      () => new TopologyBuilder().addSource('s', 't').addSource('s', 'u'),
      'a node named s already exists',
    );
    invalid(
      () => new TopologyBuilder().addSource('s', 't').addProcessor('p', noop, 'nope'),
      'unknown parent nope',
    );
    invalid(
      () => new TopologyBuilder().addSource('a', 't').addSource('b', 't'),
      'topic t is already read by source a',
    );
    invalid(
      () => new TopologyBuilder().addSource('s', 't').addSink('k', 'o', ['s']).addProcessor('p', noop, 'k'),
      'a sink (k) cannot have children',
    );
    invalid(() => new TopologyBuilder().addSource('s', 't').build(), 'source s has no children');
    invalid(
      () =>
        new TopologyBuilder()
          .addSource('s', 't')
          .addProcessor('p', noop, 's')
          .addStateStore(keyValueStore('orphan'))
          .build(),
      'store orphan is not connected',
    );
    invalid(
      () =>
        new TopologyBuilder()
          .addSource('s1', 't1')
          .addProcessor('p1', noop, 's1')
          .addSource('s2', 't2')
          .addProcessor('p2', noop, 's2')
          .addStateStore(keyValueStore('shared'), 'p1', 'p2')
          .build(),
      'store shared is used by processors in different subtopologies',
    );
  });

  it('describes itself as text and as a Mermaid diagram', () => {
    const t = wordCountTopology('in', 'out');
    expect(t.describe()).toBe(
      [
        'Topologies:',
        '   Sub-topology: 0',
        '    Source: sentences (topics: [in])',
        '      --> split',
        '    Processor: split (stores: [])',
        '      --> words-sink',
        '      <-- sentences',
        '    Sink: words-sink (topic: words-repartition)',
        '      <-- split',
        '   Sub-topology: 1',
        '    Source: words (topics: [words-repartition])',
        '      --> count',
        '    Processor: count (stores: [counts])',
        '      --> out',
        '      <-- words',
        '    Sink: out (topic: out)',
        '      <-- count',
        '',
      ].join('\n'),
    );
    const mermaid = t.describeMermaid();
    expect(mermaid.startsWith('flowchart LR\n')).toBe(true);
    expect(mermaid).toContain('subgraph sub1["Sub-topology 1"]');
    expect(mermaid).toContain('n_count <--> s_counts');
    expect(mermaid).toContain('t_words[/"words-repartition"/]');
  });
});

describe('resolvePartitionCounts', () => {
  it('derives repartition and changelog counts from the writing subtopology', () => {
    const counts = resolvePartitionCounts(wordCountTopology('in', 'out'), 'app', (t) =>
      t === 'in' ? 6 : t === 'out' ? 2 : undefined,
    );
    expect(Object.fromEntries(counts)).toEqual({
      in: 6,
      out: 2,
      'app-words-repartition': 6,
      'app-counts-changelog': 6,
    });
    const fixed = resolvePartitionCounts(wordCountTopology('in', 'out', { partitions: 3 }), 'app', (t) =>
      t === 'in' ? 6 : t === 'out' ? 2 : undefined,
    );
    expect(fixed.get('app-words-repartition')).toBe(3);
    expect(fixed.get('app-counts-changelog')).toBe(3);
  });

  it('gives a repartition topic read by the subtopology that writes it the count of its other sources', () => {
    // validate -> (in place) correlate, or validate -> by-ucm -> correlate: one subtopology reads what it writes.
    const t = new TopologyBuilder()
      .addSource('input', 'in')
      .addProcessor('validate', noop, 'input')
      .addRepartition('by-key', ['validate'])
      .addProcessor('correlate', noop, 'validate', 'by-key')
      .addStateStore(keyValueStore('index'), 'correlate')
      .build();
    expect(t.subtopologies).toHaveLength(1);
    expect(t.subtopologies[0]!.sourceTopics).toEqual(['in', 'by-key']);
    const counts = resolvePartitionCounts(t, 'app', (topic) => (topic === 'in' ? 5 : undefined));
    expect(counts.get('app-by-key-repartition')).toBe(5);
    expect(counts.get('app-index-changelog')).toBe(5);
  });

  it('refuses co-partitioned sources with different partition counts, naming them', () => {
    const t = new TopologyBuilder().addSource('s', ['a', 'b']).addProcessor('p', noop, 's').build();
    let err: unknown;
    try {
      resolvePartitionCounts(t, 'app', (topic) => (topic === 'a' ? 4 : 6));
    } catch (e) {
      err = e;
    }
    expect(hasCode(err, 'USC_ERR_TOPOLOGY_COPARTITION')).toBe(true);
    expect((err as Error).message).toBe(
      'sub-topology 0 reads co-partitioned topics with different partition counts: a (4), b (6); give them the same number of partitions or repartition one of them',
    );
  });

  it('refuses an existing internal topic of the wrong size', () => {
    const err = (() => {
      try {
        return resolvePartitionCounts(wordCountTopology('in', 'out'), 'app', (t) =>
          t === 'in' ? 6 : t === 'out' ? 2 : t === 'app-words-repartition' ? 4 : undefined,
        );
      } catch (e) {
        return e;
      }
    })();
    expect(hasCode(err, 'USC_ERR_KAFKA_TOPIC_MISMATCH')).toBe(true);
  });
});
