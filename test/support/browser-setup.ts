/**
 * vitest globalSetup of the browser project: makes sure Debian's Chromium is installed at {@link CHROMIUM_PATH},
 * so that `npm test` on a fresh CI machine needs no extra step (playwright-core drives it; no browser download).
 * When it is missing the setup installs it with apt-get, which needs root: otherwise it fails and says what to run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CHROMIUM_PATH } from './browser.js';

const INSTALL = 'apt-get update && apt-get install -y --no-install-recommends chromium';

export default function setup(): void {
  if (existsSync(CHROMIUM_PATH)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `The browser tests need Chromium at ${CHROMIUM_PATH} and it is missing; installing it needs root. ` +
        `Run as root: ${INSTALL} (or run the tests as root, which installs it by itself).`,
    );
  }
  process.stderr.write(
    `[browser-setup] ${CHROMIUM_PATH} missing; installing Debian's chromium: ${INSTALL}\n`,
  );
  execFileSync('sh', ['-c', INSTALL], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is still missing`);
  }
}
