/** Internals shared by the Kafka runtime and the TopologyTestDriver. Not part of the public API. */
export { createTaskEngine } from './engine/task-engine-impl.js';
