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
