/**
 * The memory settings an instance is launched with (cli/instance-runtime.ts): which ones a process lacks, and that
 * the image and `npm start` launch with them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  INSTANCE_ENV,
  INSTANCE_NODE_OPTIONS,
  missingInstanceSettings,
} from '../../../cli/instance-runtime.js';

const all = [...INSTANCE_NODE_OPTIONS, ...Object.entries(INSTANCE_ENV).map(([k, v]) => `${k}=${v}`)];

describe('instance memory settings', () => {
  it('reports every setting a bare `node main.js` lacks', () => {
    expect(missingInstanceSettings([], {})).toEqual(all);
  });

  it('counts a Node option from the command line or NODE_OPTIONS, whatever its value or spelling', () => {
    const env = { ...INSTANCE_ENV };
    expect(missingInstanceSettings(['--max-semi-space-size=4', '--heap-growing-percent=50'], env)).toEqual(
      [],
    );
    expect(
      missingInstanceSettings(['--heap-growing-percent=100'], {
        ...env,
        NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=8',
      }),
    ).toEqual([]);
    expect(missingInstanceSettings(['--max_semi_space_size=2', '--heap_growing_percent=80'], env)).toEqual(
      [],
    );
    expect(missingInstanceSettings(['--max-semi-space-size=4'], env)).toEqual(['--heap-growing-percent=100']);
  });

  it('counts an environment variable set to any value', () => {
    expect(missingInstanceSettings([...INSTANCE_NODE_OPTIONS], { MALLOC_MMAP_THRESHOLD_: '262144' })).toEqual(
      [],
    );
    expect(missingInstanceSettings([...INSTANCE_NODE_OPTIONS], {})).toEqual([
      'MALLOC_MMAP_THRESHOLD_=131072',
    ]);
  });

  it('is what the image and `npm start` launch an instance with', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    const entrypoint = /^ENTRYPOINT (.*)$/m.exec(dockerfile)?.[1] ?? '';
    for (const option of INSTANCE_NODE_OPTIONS) expect(JSON.parse(entrypoint)).toContain(option);
    for (const [name, value] of Object.entries(INSTANCE_ENV)) {
      expect(dockerfile).toMatch(new RegExp(`^ENV ${name}=${value}$`, 'm'));
    }
    const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> })
      .scripts.start!;
    for (const option of INSTANCE_NODE_OPTIONS) expect(start.split(' ')).toContain(option);
  });
});
