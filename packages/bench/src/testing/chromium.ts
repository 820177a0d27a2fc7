import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

/** Debian's Chromium, which .ci/run installs (never a browser download). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Chromium through playwright-core, with no network or background services: a report must
 * render from its own bytes. Fails with a clear message when Chromium is missing rather than skipping.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (the HTML report is checked in a real browser)`);
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
