package urpcasesync.reference;

import java.util.Comparator;

/**
 * The order of case events, as in the project's order-key.ts: business time (createdAt / statusChangedAt), then
 * the envelope eventTime, then the eventId (string order).
 */
public record OrderKey(long businessMs, long eventMs, String eventId) implements Comparable<OrderKey> {
  private static final Comparator<OrderKey> ORDER =
      Comparator.comparingLong(OrderKey::businessMs)
          .thenComparingLong(OrderKey::eventMs)
          .thenComparing(OrderKey::eventId);

  @Override
  public int compareTo(OrderKey other) {
    return ORDER.compare(this, other);
  }

  /** True when this key orders after {@code other} (or {@code other} is absent). */
  public boolean after(OrderKey other) {
    return other == null || compareTo(other) > 0;
  }
}
