/**
 * The URP case-sync topology (ADR 0008):
 *
 *   sub-topology 0 (partitioned by ucmCaseId)                             sub-topology 1 (by urpCaseId)
 *   ucm-case-events --validate--> dlq (invalid)
 *                        |--> by-urp (repartition by urpCaseId) ----------------------> apply --> urp-case-sync
 *                        |--> correlate (in place: the record is on its ucmCaseId's        ^     [cases, case-history]
 *                        |     partition)  [ucm-index, pending-correlation]               |
 *                        '--> by-ucm (all other records) --> correlate --> by-urp ---------'
 *                                                                  '--> dlq (unresolved)
 *
 * by-ucm is read by the sub-topology that writes it (co-partitioned with the input). apply also reads `resolved`,
 * the previous version's hop from correlate, for records it left there (no longer written).
 * The repartition topics carry msgpack and are read as msgpack or, for records of the previous version, JSON
 * (routed-event.ts `routedMessageSerde`, ADR 0006); the dead-letter and output topics carry JSON.
 *
 * A record on which a processor or serde throws is rolled back by the runtime and dead-lettered as
 * PROCESSING_ERROR by the record-error handler (record-error-handler.ts); processing continues.
 */
import { silentLogger } from '../common/logger.js';
import { keyValueStore } from '../stores/store-factory.js';
import type { Logger } from '../topology/processor.js';
import { bytesSerde, jsonSerde, stringSerde } from '../topology/serde.js';
import type { Topology } from '../topology/topology.js';
import { TopologyBuilder } from '../topology/topology-builder.js';
import { applyProcessor, CASE_STORE, HISTORY_STORE, OUTPUT_SINK } from './apply-processor.js';
import type { CaseSyncMetrics } from './case-sync-metrics.js';
import { CORRELATE_CHILDREN, correlateProcessor, INDEX_STORE, PENDING_STORE } from './correlate-processor.js';
import type { CaseSyncSettings } from './domain/case-sync-settings.js';
import { caseSyncRecordErrorHandler } from './record-error-handler.js';
import { routedMessageSerde } from './routed-event.js';
import { caseStateSerde } from './domain/case-state.js';
import { VALIDATE_CHILDREN, validateProcessor } from './validate-processor.js';

export const REPARTITIONS = { byUrp: 'by-urp', byUcm: 'by-ucm', resolved: 'resolved' } as const;

/**
 * The topology. `deps.logger` receives the record-error handler's lines (processors log through their context);
 * pass the service's logger, the default drops them.
 */
export function caseSyncTopology(
  settings: CaseSyncSettings,
  deps: { metrics: CaseSyncMetrics; applicationId: string; logger?: Logger },
): Topology {
  const routed = routedMessageSerde(settings);
  const json = jsonSerde<unknown>();
  const consumer = deps.applicationId;
  return (
    new TopologyBuilder()
      .addSource('ucm-events', settings.inputTopic, { keySerde: bytesSerde, valueSerde: bytesSerde })
      .addProcessor('validate', validateProcessor(settings, deps.metrics, consumer) as never, 'ucm-events')
      .addSink(VALIDATE_CHILDREN.dlq, settings.dlqTopic, ['validate'], {
        keySerde: stringSerde,
        valueSerde: json,
      })
      .addRepartition(REPARTITIONS.byUcm, ['validate'], { keySerde: stringSerde, valueSerde: routed })
      // In place from validate (records on their ucmCaseId's partition), or through by-ucm (all others).
      .addProcessor(
        'correlate',
        correlateProcessor(settings, deps.metrics, consumer) as never,
        'validate',
        REPARTITIONS.byUcm,
      )
      // Uncached (every write logged, sent ahead of the commit): an index entry is written once per case, a history
      // entry once per event; the cache would collapse nothing and hold their changelog back until the commit.
      .addStateStore(keyValueStore(INDEX_STORE, { caching: false }), 'correlate')
      .addStateStore(keyValueStore(PENDING_STORE), 'correlate')
      .addSink(CORRELATE_CHILDREN.dlq, settings.dlqTopic, ['correlate'], {
        keySerde: stringSerde,
        valueSerde: json,
      })
      .addRepartition(REPARTITIONS.byUrp, ['validate', 'correlate'], {
        keySerde: stringSerde,
        valueSerde: routed,
      })
      // The previous version's hop from correlate to apply: read for what it left there, no longer written.
      .addRepartition(REPARTITIONS.resolved, ['correlate'], { keySerde: stringSerde, valueSerde: routed })
      .addProcessor(
        'apply',
        applyProcessor(settings, deps.metrics) as never,
        REPARTITIONS.byUrp,
        REPARTITIONS.resolved,
      )
      .addStateStore(
        keyValueStore(CASE_STORE, { valueSerde: caseStateSerde(settings.maxCaseStateBytes) }),
        'apply',
      )
      .addStateStore(keyValueStore(HISTORY_STORE, { caching: false }), 'apply')
      .addSink(OUTPUT_SINK, settings.outputTopic, ['apply'], {
        keySerde: stringSerde,
        valueSerde: json,
        // Compacted, one record per URP case: a case changed several times within a commit is published once.
        latestPerKey: true,
      })
      .onRecordError(
        caseSyncRecordErrorHandler({
          settings,
          metrics: deps.metrics,
          consumer,
          logger: (deps.logger ?? silentLogger).child({ component: 'record-error-handler' }),
        }),
        { deadLetterTopic: settings.dlqTopic },
      )
      .build()
  );
}
