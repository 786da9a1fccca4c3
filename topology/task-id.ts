/**
 * A task is one subtopology applied to one partition of its (co-partitioned) source topics. Written as
 * `<subtopology>_<partition>`, like Kafka Streams (`0_3`).
 */
export interface TaskId {
  readonly subtopology: number;
  readonly partition: number;
}

export function taskIdToString(id: TaskId): string {
  return `${id.subtopology}_${id.partition}`;
}

/** Parses `<subtopology>_<partition>`; throws on anything else. */
export function parseTaskId(text: string): TaskId {
  const match = /^(\d+)_(\d+)$/.exec(text);
  if (!match) throw new Error(`not a task id: ${JSON.stringify(text)}`);
  return { subtopology: Number(match[1]), partition: Number(match[2]) };
}

export function compareTaskIds(a: TaskId, b: TaskId): number {
  return a.subtopology - b.subtopology || a.partition - b.partition;
}
