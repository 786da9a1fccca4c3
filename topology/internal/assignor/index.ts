/** The sticky, co-partition-aware task assignor with standby placement and the owner map. */
export {
  decodeOwnerMap,
  decodeSubscription,
  encodeOwnerMap,
  encodeSubscription,
  type HostEntry,
  type SubscriptionInfo,
} from './assignor-codec.js';
export { assignTasks, type AssignInput, type AssignOutput } from './assign-tasks.js';
export {
  createStreamsAssignor,
  tasksFor,
  STREAMS_ASSIGNOR_NAME,
  type StreamsAssignorOptions,
} from './streams-assignor.js';
