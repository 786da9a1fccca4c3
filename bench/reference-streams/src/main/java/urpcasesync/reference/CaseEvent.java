package urpcasesync.reference;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/**
 * A valid, normalised UCMv2 event (the value of the by-urp repartition topic). {@code status} is the status the
 * event leaves its UCM case in: initialStatus of a CASE_CREATED, newStatus of a CASE_STATUS_CHANGED.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record CaseEvent(
    String eventId,
    String eventType,
    String eventTime,
    long eventMs,
    String source,
    String ucmCaseId,
    String urpCaseId,
    String oldStatus,
    String status,
    String businessTime,
    long businessMs,
    String reason,
    Map<String, JsonNode> attributes) {

  public static final String CASE_CREATED = "CASE_CREATED";
  public static final String CASE_STATUS_CHANGED = "CASE_STATUS_CHANGED";

  public OrderKey orderKey() {
    return new OrderKey(businessMs, eventMs, eventId);
  }

  public boolean created() {
    return CASE_CREATED.equals(eventType);
  }
}
