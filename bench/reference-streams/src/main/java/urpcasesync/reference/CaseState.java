package urpcasesync.reference;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.Map;

/**
 * The stored state of one URP case (value of the {@code cases} RocksDB store): the eventIds already applied
 * (dedupe, oldest first, bounded like the project's DEDUPE_MAX_IDS), the event with the greatest order key (it
 * defines the current status), and the newest CASE_CREATED by order key (createdAt and attributes).
 */
public final class CaseState {
  static final int MAX_APPLIED_IDS = 1_000;

  public String urpCaseId;
  public LinkedHashSet<String> appliedEventIds = new LinkedHashSet<>();
  public OrderKey latestKey;
  public String ucmCaseId;
  public String status;
  public String statusChangedAt;
  public String lastEventTime;
  public OrderKey createdKey;
  public String createdAt;
  public Map<String, JsonNode> attributes = Map.of();
  public long eventCount;
  public String updatedAt;

  public CaseState() {}

  CaseState(String urpCaseId) {
    this.urpCaseId = urpCaseId;
  }

  boolean applied(String eventId) {
    return appliedEventIds.contains(eventId);
  }

  /** Applies a new (not yet applied) event; a late event only counts and is remembered for dedupe. */
  void apply(CaseEvent e, long nowMs) {
    appliedEventIds.add(e.eventId());
    if (appliedEventIds.size() > MAX_APPLIED_IDS) {
      appliedEventIds.remove(appliedEventIds.iterator().next());
    }
    OrderKey key = e.orderKey();
    if (key.after(latestKey)) {
      latestKey = key;
      ucmCaseId = e.ucmCaseId();
      status = e.status();
      statusChangedAt = e.businessTime();
      lastEventTime = e.eventTime();
    }
    if (e.created() && key.after(createdKey)) {
      createdKey = key;
      createdAt = e.businessTime();
      attributes = e.attributes() == null ? Map.of() : e.attributes();
    }
    eventCount++;
    updatedAt = Instant.ofEpochMilli(nowMs).toString();
  }

  /** The output record (one per URP case, compacted topic). */
  CaseRecord toRecord() {
    return new CaseRecord(
        urpCaseId,
        ucmCaseId,
        status,
        statusChangedAt,
        createdAt,
        attributes,
        latestKey.eventId(),
        lastEventTime,
        eventCount,
        updatedAt);
  }

  public record CaseRecord(
      String urpCaseId,
      String ucmCaseId,
      String status,
      String statusChangedAt,
      String createdAt,
      Map<String, JsonNode> attributes,
      String lastEventId,
      String lastEventTime,
      long eventCount,
      String updatedAt) {}
}
