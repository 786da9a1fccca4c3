/**
 * The log line of an instance's assignment: one line per rebalance with its active and standby tasks, at info
 * only when they changed (a first start goes through several rebalances with the same outcome), else debug.
 */
import type { Logger } from '../../processor.js';
import { describeTaskIds } from './task-ids.js';

/** Logs each assignment, remembering the last line logged to choose its level. */
export class AssignmentLog {
  /** The last assignment line logged. */
  private lastLine = '';

  constructor(private readonly logger: Logger) {}

  /** Logs this instance's assignment: at info if it differs from the last one logged, else at debug. */
  log(active: readonly string[], standby: readonly string[]): void {
    const line = `assigned ${active.length} active tasks: ${describeTaskIds(active)}, ${standby.length} standbys`;
    const changed = line !== this.lastLine;
    this.lastLine = line;
    (changed ? this.logger.info : this.logger.debug).call(
      this.logger,
      { active: active.length, standby: standby.length, standbyTasks: describeTaskIds(standby) },
      line,
    );
  }
}
