/**
 * Lifecycle of a task as an explicit state machine (Kafka Streams' Task.State). Illegal transitions throw
 * UscError USC_ERR_TASK_ILLEGAL_TRANSITION: they are bugs, not runtime conditions.
 *
 *   created -> restoring -> running <-> suspended
 *      |           |          |            |
 *      +-----------+----------+------------+--> closed
 */
import { UscError } from '../../../common/errors.js';

export type TaskState = 'created' | 'restoring' | 'running' | 'suspended' | 'closed';

const TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  created: ['restoring', 'closed'],
  restoring: ['running', 'suspended', 'closed'],
  running: ['suspended', 'closed'],
  suspended: ['running', 'restoring', 'closed'],
  closed: [],
};

/** Holds a task's state and enforces the transitions table. */
export class TaskStateMachine {
  private current: TaskState = 'created';

  constructor(private readonly taskId: string) {}

  get state(): TaskState {
    return this.current;
  }

  /** Moves to `next`; throws USC_ERR_TASK_ILLEGAL_TRANSITION if the table does not allow it. */
  transition(next: TaskState): void {
    if (!TRANSITIONS[this.current].includes(next)) {
      throw new UscError(
        'USC_ERR_TASK_ILLEGAL_TRANSITION',
        `task ${this.taskId}: illegal transition ${this.current} -> ${next}`,
      );
    }
    this.current = next;
  }
}
