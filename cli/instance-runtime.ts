/**
 * How the Node process of an instance is launched (issue 14: RSS of an instance holding 1,000,000 cases). These
 * settings take effect only at process start (glibc reads its tunables, and V8 its flags, when the process
 * starts), so they belong where the process is launched: the image (Dockerfile), `npm start`, the bench. An
 * instance launched without them runs, and logs which ones it lacks (docs/operations.md, "Memory").
 *
 * - `--max-semi-space-size=8` (MiB; Node 20's default is 16): the young generation takes 16 MiB instead of 32
 *   (1M-case run: 297 MB of RSS at the end; with 4 it was 287 MB, but `--only casesync` with 3 instances ran
 *   2,627 and 2,045 events/s, against 2,838 with 8 and 2,936-3,362 without the option).
 * - `--heap-growing-percent=100` (V8): after a full GC the old generation may grow to 2x what survived it before
 *   the next one; V8 otherwise picks a factor of up to 4x on a machine with a large heap limit (24 GiB here: a
 *   heap of 139 MB for 39 MB in use at the end of a 1M-case run). 1M-case run: 232 MB of RSS (heap 58 of 88 MB)
 *   against 311 MB without it; with 50 (1.5x) 210 MB, but the ingest ran 3,769 against 4,936 events/s.
 *   A V8 flag, so not accepted in NODE_OPTIONS: on the command line only.
 * - `MALLOC_MMAP_THRESHOLD_=131072`: glibc serves allocations of 128 KiB and more with their own mappings, returned
 *   when freed. By default it raises that threshold to the largest block freed so far (up to 32 MiB): after the
 *   first multi-MiB block (librdkafka's fetch responses, most likely; not traced), such blocks came from the heap
 *   arenas, and arenas that once held them kept the pages (1M-case run: 171 MB of malloc arenas for 65 MB in use;
 *   one arena 49 MB for 0.15 MB).
 */

/** Node options of an instance. */
export const INSTANCE_NODE_OPTIONS: readonly string[] = [
  '--max-semi-space-size=8',
  '--heap-growing-percent=100',
];

/** Environment of an instance (glibc; ignored elsewhere). */
export const INSTANCE_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };

/**
 * The settings above this process runs without (as recommended): a Node option given neither on the command line
 * nor in NODE_OPTIONS (any value of it counts), an environment variable unset (any value counts).
 */
export function missingInstanceSettings(execArgv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].map((a) =>
    a.split('=')[0]!.replace(/_/g, '-'),
  );
  const missing = INSTANCE_NODE_OPTIONS.filter((o) => !given.includes(o.split('=')[0]!));
  for (const [name, value] of Object.entries(INSTANCE_ENV))
    if (env[name] === undefined) missing.push(`${name}=${value}`);
  return missing;
}
