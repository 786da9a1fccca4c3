/**
 * Human-readable descriptions of a topology: text in the spirit of Kafka Streams' TopologyDescription, and a
 * Mermaid flowchart (GET /topology, `urp-case-sync describe`, docs).
 */
import type { InternalTopic, Subtopology, TopologyNode } from '../topology.js';

function parentsOf(sub: Subtopology, name: string): string[] {
  return [...sub.nodes.values()]
    .filter((n) => n.kind !== 'sink' && n.children.includes(name))
    .map((n) => n.name);
}

const topicLabel = (topic: string, internal: ReadonlyMap<string, InternalTopic>) =>
  internal.has(topic) ? `${topic}-repartition` : topic;

export function describeTopology(
  subtopologies: readonly Subtopology[],
  internal: ReadonlyMap<string, InternalTopic>,
): string {
  const lines = ['Topologies:'];
  for (const sub of subtopologies) {
    lines.push(`   Sub-topology: ${sub.id}`);
    for (const node of sub.nodes.values()) {
      lines.push(`    ${headline(node, internal)}`);
      if (node.kind !== 'sink' && node.children.length > 0)
        lines.push(`      --> ${node.children.join(', ')}`);
      const parents = parentsOf(sub, node.name);
      if (parents.length > 0) lines.push(`      <-- ${parents.join(', ')}`);
    }
  }
  return lines.join('\n') + '\n';
}

function headline(node: TopologyNode, internal: ReadonlyMap<string, InternalTopic>): string {
  switch (node.kind) {
    case 'source':
      return `Source: ${node.name} (topics: [${node.topics.map((t) => topicLabel(t, internal)).join(', ')}])`;
    case 'processor':
      return `Processor: ${node.name} (stores: [${node.stores.join(', ')}])`;
    case 'sink':
      return `Sink: ${node.name} (topic: ${node.internal ? `${node.topic}-repartition` : node.topic})`;
  }
}

const id = (prefix: string, name: string) => `${prefix}_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;

export function mermaidTopology(
  subtopologies: readonly Subtopology[],
  internal: ReadonlyMap<string, InternalTopic>,
): string {
  const lines = ['flowchart LR'];
  const topics = new Set<string>();
  const stores = new Set<string>();
  for (const sub of subtopologies) {
    lines.push(`  subgraph sub${sub.id}["Sub-topology ${sub.id}"]`);
    for (const node of sub.nodes.values()) {
      const shape = node.kind === 'processor' ? `["${node.name}"]` : `(["${node.kind}: ${node.name}"])`;
      lines.push(`    ${id('n', node.name)}${shape}`);
    }
    lines.push('  end');
    for (const node of sub.nodes.values()) {
      if (node.kind === 'source') {
        for (const t of node.topics) {
          topics.add(t);
          lines.push(`  ${id('t', t)} --> ${id('n', node.name)}`);
        }
      }
      if (node.kind === 'sink') {
        topics.add(node.topic);
        lines.push(`  ${id('n', node.name)} --> ${id('t', node.topic)}`);
      } else {
        for (const c of node.children) lines.push(`  ${id('n', node.name)} --> ${id('n', c)}`);
      }
      if (node.kind === 'processor') {
        for (const s of node.stores) {
          stores.add(s);
          lines.push(`  ${id('n', node.name)} <--> ${id('s', s)}`);
        }
      }
    }
  }
  for (const t of topics) lines.push(`  ${id('t', t)}[/"${topicLabel(t, internal)}"/]`);
  for (const s of stores) lines.push(`  ${id('s', s)}[("${s}")]`);
  return lines.join('\n') + '\n';
}
