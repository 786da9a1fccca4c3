/**
 * `urp-case-sync reset`: the application reset (like Kafka Streams' kafka-streams-application-reset): input offsets
 * back to the earliest, internal topics (repartition + changelog) deleted, the consumer group deleted, local state
 * wiped. Refuses while members of the application's group are alive. `--dry-run` prints the plan only.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UscError } from '../common/errors.js';
import {
  createKafka,
  deleteGroups,
  deleteTopics,
  describeGroup,
  listTopics,
  openAdmin,
  resetGroupOffsets,
} from '../kafka/index.js';
import type { Logger } from '../common/logger.js';
import type { ServiceConfig } from './config.js';

export interface ResetPlan {
  readonly applicationId: string;
  readonly inputTopics: readonly string[];
  readonly internalTopics: readonly string[];
  readonly stateDir: string;
}

/** Computes and (unless dryRun) executes the reset. Throws USC_ERR_RESET_INSTANCES_ALIVE if members are alive. */
export async function resetApplication(
  config: ServiceConfig,
  brokers: readonly string[],
  options: { readonly dryRun: boolean; readonly logger: Logger; readonly inputTopics?: readonly string[] },
): Promise<ResetPlan> {
  const applicationId = config.streams.applicationId;
  const kafka = createKafka({ ...config.kafka, brokers }, options.logger);
  const admin = await openAdmin(kafka);
  try {
    // Instances are static members (group.instance.id): one that stopped stays a member until its session
    // timeout elapses. Wait that long for the group to empty before calling its members alive.
    const deadline = Date.now() + (config.streams.sessionTimeoutMs ?? 10_000) + 5_000;
    let group = await describeGroup(admin, applicationId);
    if (group.members.length > 0) {
      options.logger.info(
        { members: group.members.length, waitMs: deadline - Date.now() },
        'the group still has members; waiting for stopped instances to leave it (session timeout)',
      );
    }
    while (group.members.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500)); // poll period of the group's membership
      group = await describeGroup(admin, applicationId);
    }
    if (group.members.length > 0) {
      throw new UscError(
        'USC_ERR_RESET_INSTANCES_ALIVE',
        `reset refused: ${group.members.length} member(s) of group ${applicationId} are alive (${group.members
          .map((m) => `${m.instanceId ?? m.clientId}@${m.host}`)
          .join(', ')}); stop every instance first`,
      );
    }
    const all = await listTopics(admin);
    const internalTopics = all
      .filter(
        (t) => t.startsWith(`${applicationId}-`) && (t.endsWith('-repartition') || t.endsWith('-changelog')),
      )
      .sort();
    const inputTopics = (options.inputTopics ?? [config.caseSync.inputTopic]).filter((t) => all.includes(t));
    const plan: ResetPlan = {
      applicationId,
      inputTopics,
      internalTopics,
      stateDir: join(config.streams.stateDir, applicationId),
    };
    if (options.dryRun) return plan;
    // The group has no live members (checked above): its committed offsets can be replaced. Deleting it first
    // drops the offsets of topics that are no longer inputs; the input topics' offsets are then committed anew,
    // at the earliest offsets, so the next start reprocesses every input record.
    await deleteGroups(admin, [applicationId]);
    for (const topic of inputTopics) await resetGroupOffsets(admin, applicationId, topic, 'earliest');
    await deleteTopics(admin, internalTopics);
    await rm(plan.stateDir, { recursive: true, force: true });
    options.logger.info({ ...plan }, 'application reset done');
    return plan;
  } finally {
    await admin.disconnect();
  }
}
