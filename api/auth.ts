/**
 * Bearer-token access control. With a token configured every route except the probes needs
 * `Authorization: Bearer <token>`; the comparison is constant-time (over SHA-256 digests, so the length of the
 * token does not leak either).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Routes anyone may call (liveness/readiness probes). */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/** True when `authorization` carries exactly `Bearer <token>`. */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer (.+)$/.exec(authorization ?? '');
  const presented = match?.[1] ?? '';
  // Always compare (even on a malformed header) so the timing does not tell the two cases apart.
  return timingSafeEqual(digest(presented), digest(token)) && match !== null;
}
