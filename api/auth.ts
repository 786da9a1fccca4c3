/**
 * Bearer-token access control. With a token configured every route needs `Authorization: Bearer <token>` except
 * the public ones ({@link isPublicPath}): the probes, and pages and documents that hold no data (the OpenAPI
 * document, its UI, the topology page with its scripts, the operator console's page, script and stylesheet; the
 * topology and the console's data stay behind the token). The comparison is constant-time (over SHA-256
 * digests, so the length of the token does not leak either).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { CONSOLE_PAGE_PUBLIC_PATHS } from './console-page.js';
import { TOPOLOGY_PAGE_PUBLIC_PATHS } from './topology-page.js';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Routes anyone may call: probes, the OpenAPI document and UI, the topology page and the console (not their data). */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set([
  '/healthz',
  '/readyz',
  '/openapi.json',
  '/docs',
  ...TOPOLOGY_PAGE_PUBLIC_PATHS,
  ...CONSOLE_PAGE_PUBLIC_PATHS,
]);

/** Path prefixes anyone may call: the OpenAPI UI's assets and its copy of the document (`/docs/json`). */
export const PUBLIC_PREFIXES: readonly string[] = ['/docs/'];

/** True when `path` (without the query string) is served without a token. */
export function isPublicPath(path: string): boolean {
  return PUBLIC_PATHS.has(path) || PUBLIC_PREFIXES.some((prefix) => path.startsWith(prefix));
}

/** True when `authorization` carries exactly `Bearer <token>`. */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer (.+)$/.exec(authorization ?? '');
  const presented = match?.[1] ?? '';
  // Always compare (even on a malformed header) so the timing does not tell the two cases apart.
  return timingSafeEqual(digest(presented), digest(token)) && match !== null;
}
