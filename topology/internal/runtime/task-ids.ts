/**
 * Task ids for a log line, partitions of a subtopology in ranges: `0_0..0_11, 1_0..1_11, 2_3` (sorted by
 * subtopology, then partition; ids that are not `<subtopology>_<partition>` are listed as they are).
 */
export function describeTaskIds(ids: Iterable<string>): string {
  const bySub = new Map<number, number[]>();
  const other: string[] = [];
  for (const id of ids) {
    const m = /^(\d+)_(\d+)$/.exec(id);
    if (!m) other.push(id);
    else (bySub.get(Number(m[1])) ?? bySub.set(Number(m[1]), []).get(Number(m[1]))!).push(Number(m[2]));
  }
  const parts: string[] = [];
  for (const sub of [...bySub.keys()].sort((a, b) => a - b)) {
    const ps = [...new Set(bySub.get(sub))].sort((a, b) => a - b);
    for (let i = 0; i < ps.length;) {
      let j = i;
      while (j + 1 < ps.length && ps[j + 1] === ps[j]! + 1) j++;
      parts.push(j > i ? `${sub}_${ps[i]}..${sub}_${ps[j]}` : `${sub}_${ps[i]}`);
      i = j + 1;
    }
  }
  return [...parts, ...other.sort()].join(', ') || '(none)';
}

/** One info line for a batch of tasks that finished restoring and started running. */
export function logTasksStarted(
  logger: { info(obj: object, msg?: string): void },
  started: readonly string[],
  restoredRecords: number,
  seconds: number,
): void {
  if (started.length === 0) return;
  logger.info(
    { tasks: started.length, taskIds: describeTaskIds(started), restoredRecords, seconds },
    `${started.length} task${started.length === 1 ? '' : 's'} restored and running (${restoredRecords} records restored in ${seconds.toFixed(1)} s)`,
  );
}

const STUCK_AFTER_MS = 30_000;

/** Warns (every 30 s per task) about a task whose current job has run for 30 s or more. */
export function reportStuckTasks(
  tasks: Iterable<{ readonly idString: string; busy(): { label: string; sinceMs: number } | undefined }>,
  reported: Map<string, number>,
  logger: { warn(obj: object, msg?: string): void },
  wall = Date.now(),
): void {
  for (const task of tasks) {
    const busy = task.busy();
    if (!busy || wall - busy.sinceMs < STUCK_AFTER_MS) continue;
    if (wall - (reported.get(task.idString) ?? 0) < STUCK_AFTER_MS) continue;
    reported.set(task.idString, wall);
    logger.warn(
      { taskId: task.idString, job: busy.label, forMs: wall - busy.sinceMs },
      'task is stuck in a job (a Kafka or store call that does not settle)',
    );
  }
}
