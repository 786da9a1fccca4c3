/**
 * The placement algorithm, pure and deterministic (same input, same output):
 *
 * Active tasks
 *  1. capacity: every member gets floor(n/m) or ceil(n/m) tasks, so counts differ by at most one;
 *  2. sticky: a task stays with the instance that ran it last generation (matched by instanceId, since member
 *     ids change when an instance restarts), within capacity overall and per subtopology (ceil(its tasks / m)),
 *     so every instance works on every stage of the topology;
 *  3. warm: a task without a previous owner goes to the member with the most local state for it (highest
 *     changelog offset sum, or a previous standby), within capacity;
 *  4. the rest go to the least loaded member (fewest tasks of the same subtopology first, then fewest overall).
 * Standby tasks: `numStandbyReplicas` copies of each task on distinct members other than its active owner,
 * preferring members that already hold state for it while they are not above the least loaded + 1, then the
 * least loaded.
 */
import type { SubscriptionInfo } from './assignor-codec.js';

export interface AssignInput {
  readonly members: readonly { readonly memberId: string; readonly info: SubscriptionInfo | undefined }[];
  /** Task ids `<subtopology>_<partition>`. */
  readonly tasks: readonly string[];
  readonly numStandbyReplicas: number;
}

export interface AssignOutput {
  readonly active: ReadonlyMap<string, readonly string[]>;
  readonly standby: ReadonlyMap<string, readonly string[]>;
}

const subOf = (task: string) => task.slice(0, task.indexOf('_'));

function compareTasks(a: string, b: string): number {
  const [sa, pa] = a.split('_').map(Number);
  const [sb, pb] = b.split('_').map(Number);
  return sa! - sb! || pa! - pb!;
}

export function assignTasks(input: AssignInput): AssignOutput {
  const members = [...input.members].sort(
    (a, b) =>
      (a.info?.instanceId ?? '').localeCompare(b.info?.instanceId ?? '') ||
      a.memberId.localeCompare(b.memberId),
  );
  const tasks = [...new Set(input.tasks)].sort(compareTasks);
  const active = new Map<string, string[]>(members.map((m) => [m.memberId, []]));
  const standby = new Map<string, string[]>(members.map((m) => [m.memberId, []]));
  if (members.length === 0) return { active, standby };

  const n = tasks.length;
  const m = members.length;
  const minPer = Math.floor(n / m);
  const maxPer = Math.ceil(n / m);
  let atMaxAllowed = n - minPer * m;
  const owner = new Map<string, string>();
  const fits = (memberId: string): boolean => {
    const count = active.get(memberId)!.length;
    return count < minPer || (count < maxPer && atMaxAllowed > 0);
  };
  // Sticky and warm placement also keep each subtopology spread: at most ceil(tasks of it / members) per member.
  const subMax = new Map<string, number>();
  for (const t of tasks) subMax.set(subOf(t), (subMax.get(subOf(t)) ?? 0) + 1);
  for (const [sub, count] of subMax) subMax.set(sub, Math.ceil(count / m));
  const fitsSub = (memberId: string, task: string): boolean =>
    fits(memberId) &&
    active.get(memberId)!.filter((t) => subOf(t) === subOf(task)).length < subMax.get(subOf(task))!;
  const give = (task: string, memberId: string): void => {
    const list = active.get(memberId)!;
    list.push(task);
    if (list.length === maxPer && maxPer > minPer) atMaxAllowed--;
    owner.set(task, memberId);
  };

  // 2. sticky (the first member, in sorted order, that ran it)
  for (const task of tasks) {
    const prev = members.find((mm) => mm.info?.previousActive.includes(task));
    if (prev && fitsSub(prev.memberId, task)) give(task, prev.memberId);
  }
  // 3. warm
  const stateOf = (mm: (typeof members)[number], task: string): bigint => {
    const offsets = mm.info?.taskOffsets[task];
    if (offsets !== undefined) return BigInt(offsets) + 1n;
    return mm.info?.previousStandby.includes(task) ? 1n : 0n;
  };
  for (const task of tasks) {
    if (owner.has(task)) continue;
    const warm = members
      .map((mm) => ({ mm, state: stateOf(mm, task) }))
      .filter((c) => c.state > 0n && fitsSub(c.mm.memberId, task))
      .sort((a, b) => (b.state > a.state ? 1 : b.state < a.state ? -1 : 0));
    if (warm[0]) give(task, warm[0].mm.memberId);
  }
  // 4. least loaded
  const subLoad = (memberId: string, sub: string) =>
    active.get(memberId)!.filter((t) => subOf(t) === sub).length;
  for (const task of tasks) {
    if (owner.has(task)) continue;
    const sub = subOf(task);
    const target = members
      .filter((mm) => fits(mm.memberId))
      .sort(
        (a, b) =>
          subLoad(a.memberId, sub) - subLoad(b.memberId, sub) ||
          active.get(a.memberId)!.length - active.get(b.memberId)!.length,
      )[0]!;
    give(task, target.memberId);
  }

  // Standbys
  const replicas = Math.min(Math.max(0, input.numStandbyReplicas), m - 1);
  for (let r = 0; r < replicas; r++) {
    for (const task of tasks) {
      const candidates = members.filter(
        (mm) => mm.memberId !== owner.get(task) && !standby.get(mm.memberId)!.includes(task),
      );
      if (candidates.length === 0) continue;
      const load = (id: string) => standby.get(id)!.length;
      const least = Math.min(...candidates.map((c) => load(c.memberId)));
      const warm = candidates
        .filter((c) => stateOf(c, task) > 0n && load(c.memberId) <= least + 1)
        .sort((a, b) => {
          const sa = stateOf(a, task);
          const sb = stateOf(b, task);
          return sb > sa ? 1 : sb < sa ? -1 : load(a.memberId) - load(b.memberId);
        });
      const pick = warm[0] ?? candidates.sort((a, b) => load(a.memberId) - load(b.memberId))[0]!;
      standby.get(pick.memberId)!.push(task);
    }
  }
  for (const list of [...active.values(), ...standby.values()]) list.sort(compareTasks);
  return { active, standby };
}
