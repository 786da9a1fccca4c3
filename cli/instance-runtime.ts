/**
 * How the Node process of an instance is launched (issue 14: RSS of an instance holding 1,000,000 cases). Both
 * settings take effect only at process start (glibc reads its tunables, and V8 sizes its young generation, when the
 * process starts), so they belong where the process is launched: the image (Dockerfile), `npm start`, the bench.
 * An instance launched without them runs, and logs which ones it lacks (docs/operations.md, "Memory").
 *
 * - `--max-semi-space-size=4` (MiB; Node 20's default is 16): the young generation takes 8 MiB instead of 32. Batches
 *   keep their records alive across a few scavenges either way; with the smaller semi-spaces a scavenge copies less
 *   and the instance spent less time in GC (1M-case run: 14 s of scavenges and 62 mark-compacts, against 18 s and 103).
 * - `MALLOC_MMAP_THRESHOLD_=131072`: glibc serves allocations of 128 KiB and more with their own mappings, returned
 *   when freed. By default it raises that threshold to the largest block freed so far (up to 32 MiB): after the
 *   first multi-MiB block (librdkafka's fetch responses, most likely; not traced), such blocks came from the heap
 *   arenas, and arenas that once held them kept the pages (1M-case run: 171 MB of malloc arenas for 65 MB in use;
 *   one arena 49 MB for 0.15 MB).
 */

/** Node options of an instance. */
export const INSTANCE_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=4'];

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
