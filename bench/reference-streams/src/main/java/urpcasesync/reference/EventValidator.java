package urpcasesync.reference;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Raw record value -> a valid, normalised {@link CaseEvent}, or a rejection (category, field, a message naming the
 * field and the rule). The same rules as the project's validate-event.ts, reduced to the core: size, nesting and
 * string bounds, JSON syntax, required envelope fields, known eventType, ids of the form ^[A-Za-z0-9._:-]{1,128}$,
 * ISO-8601 times with a zone, known statuses (no STATUS_MAPPING), allowlisted attributes. Not checked here: the
 * future-time skew rule. Never throws.
 */
final class EventValidator {
  static final int MAX_RECORD_BYTES = 262_144;
  static final int MAX_NESTING_DEPTH = 16;
  static final int MAX_STRING_LENGTH = 8_192;
  static final Set<String> STATUSES = Set.of("OPEN", "IN_PROGRESS", "ON_HOLD", "CLOSED", "REJECTED");
  static final List<String> ATTRIBUTE_ALLOWLIST = List.of("priority", "caseType");

  private static final Pattern ID = Pattern.compile("^[A-Za-z0-9._:-]{1,128}$");
  private static final Pattern ISO =
      Pattern.compile(
          "^(\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2})(:\\d{2}(?:\\.\\d{1,9})?)?(Z|[+-]\\d{2}:?\\d{2})$");
  private static final Pattern STATUS_SEPARATORS = Pattern.compile("[\\s-]+");

  private static final ObjectMapper MAPPER =
      JsonMapper.builder(
              JsonFactory.builder()
                  .streamReadConstraints(
                      StreamReadConstraints.builder()
                          .maxNestingDepth(MAX_NESTING_DEPTH)
                          .maxStringLength(MAX_STRING_LENGTH)
                          .build())
                  .build())
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  private EventValidator() {}

  /** Outcome of {@link #parse}: exactly one of {@code event} and {@code rejection} is set. */
  record Outcome(CaseEvent event, Rejection rejection) {
    static Outcome valid(CaseEvent event) {
      return new Outcome(event, null);
    }

    static Outcome rejected(String category, String field, String message, String eventId) {
      return new Outcome(null, new Rejection(category, field, message, eventId));
    }
  }

  /** The small JSON reason written to the dead-letter topic. */
  record Rejection(String category, String field, String message, String eventId) {}

  /** A rule broken while normalising; carries no stack trace (it is an expected outcome, not an error). */
  private static final class Invalid extends Exception {
    final String category;
    final String field;

    Invalid(String category, String field, String message) {
      super(message, null, false, false);
      this.category = category;
      this.field = field;
    }
  }

  static Outcome parse(byte[] value) {
    if (value == null || value.length == 0) {
      return Outcome.rejected("INVALID_JSON", null, "the record has no value", null);
    }
    if (value.length > MAX_RECORD_BYTES) {
      return Outcome.rejected(
          "LIMIT_EXCEEDED", null, "the value is larger than MAX_RECORD_BYTES (" + MAX_RECORD_BYTES + ")", null);
    }
    JsonNode root;
    try {
      root = MAPPER.readTree(value);
    } catch (StreamConstraintsException e) {
      return Outcome.rejected("LIMIT_EXCEEDED", null, "the value exceeds a nesting or string bound", null);
    } catch (IOException e) {
      return Outcome.rejected("INVALID_JSON", null, "the value is not JSON (syntax error)", null);
    }
    JsonNode rawId = root == null ? null : root.get("eventId");
    String eventId = rawId != null && rawId.isTextual() && ID.matcher(rawId.textValue()).matches()
        ? rawId.textValue()
        : null;
    try {
      return Outcome.valid(normalize(root));
    } catch (Invalid e) {
      return Outcome.rejected(e.category, e.field, e.getMessage(), eventId);
    }
  }

  private static CaseEvent normalize(JsonNode root) throws Invalid {
    JsonNode e = object(root, "event");
    JsonNode type = e.get("eventType");
    if (type == null || !type.isTextual() || type.textValue().isEmpty()) {
      throw new Invalid("SCHEMA_INVALID", "eventType", "eventType is required");
    }
    String eventType = type.textValue();
    if (!eventType.equals(CaseEvent.CASE_CREATED) && !eventType.equals(CaseEvent.CASE_STATUS_CHANGED)) {
      throw new Invalid("UNKNOWN_EVENT_TYPE", "eventType", "eventType is not CASE_CREATED or CASE_STATUS_CHANGED");
    }
    String eventId = id(e, "eventId", "eventId");
    String eventTime = text(e, "eventTime", "eventTime", 64, true);
    long eventMs = isoMillis(eventTime, "eventTime");
    String source = text(e, "source", "source", 128, true);
    JsonNode p = object(e.get("payload"), "payload");
    String ucmCaseId = id(p, "ucmCaseId", "payload.ucmCaseId");
    if (eventType.equals(CaseEvent.CASE_CREATED)) {
      String urpCaseId = id(p, "urpCaseId", "payload.urpCaseId");
      String status = status(p, "initialStatus", "payload.initialStatus");
      String createdAt = text(p, "createdAt", "payload.createdAt", 64, true);
      long createdMs = isoMillis(createdAt, "payload.createdAt");
      return new CaseEvent(eventId, eventType, eventTime, eventMs, source, ucmCaseId, urpCaseId, null, status,
          createdAt, createdMs, null, attributes(p.get("extraAttributes")));
    }
    JsonNode urp = p.get("urpCaseId");
    String urpCaseId = urp == null || urp.isNull() ? null : id(p, "urpCaseId", "payload.urpCaseId");
    JsonNode old = p.get("oldStatus");
    String oldStatus = old != null && old.isNull() ? null : status(p, "oldStatus", "payload.oldStatus");
    String newStatus = status(p, "newStatus", "payload.newStatus");
    String changedAt = text(p, "statusChangedAt", "payload.statusChangedAt", 64, true);
    long changedMs = isoMillis(changedAt, "payload.statusChangedAt");
    String reason = text(p, "reason", "payload.reason", 1000, false);
    return new CaseEvent(eventId, eventType, eventTime, eventMs, source, ucmCaseId, urpCaseId, oldStatus,
        newStatus, changedAt, changedMs, reason, null);
  }

  private static JsonNode object(JsonNode v, String field) throws Invalid {
    if (v == null || !v.isObject()) throw new Invalid("SCHEMA_INVALID", field, field + " must be an object");
    return v;
  }

  private static String id(JsonNode o, String name, String field) throws Invalid {
    JsonNode v = o.get(name);
    if (v == null || v.isNull() || (v.isTextual() && v.textValue().isEmpty())) {
      throw new Invalid("SCHEMA_INVALID", field, field + " is required");
    }
    if (!v.isTextual() || !ID.matcher(v.textValue()).matches()) {
      throw new Invalid("SCHEMA_INVALID", field,
          field + " must be 1-128 characters of letters, digits, \".\", \"_\", \":\" or \"-\"");
    }
    return v.textValue();
  }

  private static String text(JsonNode o, String name, String field, int max, boolean required) throws Invalid {
    JsonNode v = o.get(name);
    if (v == null || v.isNull()) {
      if (required) throw new Invalid("SCHEMA_INVALID", field, field + " is required");
      return null;
    }
    if (!v.isTextual() || v.textValue().isEmpty() || v.textValue().length() > max) {
      throw new Invalid("SCHEMA_INVALID", field, field + " must be a string of 1-" + max + " characters");
    }
    return v.textValue();
  }

  private static String status(JsonNode o, String name, String field) throws Invalid {
    String raw = text(o, name, field, 64, true);
    String normalized = STATUS_SEPARATORS.matcher(raw.trim().toUpperCase(Locale.ROOT)).replaceAll("_");
    if (!STATUSES.contains(normalized)) {
      throw new Invalid("UNKNOWN_STATUS", field, field + " is not a known status");
    }
    return normalized;
  }

  /** Epoch ms of an ISO-8601 date-time with a zone (seconds optional, offset with or without a colon). */
  private static long isoMillis(String text, String field) throws Invalid {
    Matcher m = ISO.matcher(text);
    if (m.matches()) {
      String seconds = m.group(2) == null ? ":00" : m.group(2);
      String zone = m.group(3);
      if (zone.length() == 5) zone = zone.substring(0, 3) + ":" + zone.substring(3);
      try {
        return OffsetDateTime.parse(m.group(1) + seconds + zone).toInstant().toEpochMilli();
      } catch (DateTimeParseException e) {
        // falls through: not a real date-time
      }
    }
    throw new Invalid("SCHEMA_INVALID", field,
        field + " must be an ISO-8601 date-time with a zone (e.g. 2026-01-31T12:00:00Z)");
  }

  private static Map<String, JsonNode> attributes(JsonNode extra) throws Invalid {
    if (extra == null || extra.isNull()) return Map.of();
    object(extra, "payload.extraAttributes");
    Map<String, JsonNode> kept = new LinkedHashMap<>();
    for (String key : ATTRIBUTE_ALLOWLIST) {
      JsonNode v = extra.get(key);
      if (v != null) kept.put(key, v);
    }
    return kept;
  }
}
