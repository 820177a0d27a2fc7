import { existsSync } from 'node:fs';
import { CHROMIUM, type ChromiumOptions, WEBGPU_FLAGS, chromiumFlags } from '@onnx-forge/runtime/testing';
import type { Browser } from 'playwright-core';

/** Debian's Chromium, which .ci/run installs (never a browser download). */
export { CHROMIUM };

/**
 * The flags `launchChromium({ webgpu: true })` adds: WebGPU on SwiftShader, a Vulkan that runs on the
 * CPU, so pages get a real WebGPU adapter on a machine with no GPU. That adapter lacks 'shader-f16'.
 * Defined beside the house flags in runtime's test helpers, whose own browser tests use them too
 * (runtime cannot import bench).
 */
export { WEBGPU_FLAGS };

/**
 * Headless Chromium through playwright-core, with no network or background services: a report must
 * render from its own bytes. With `webgpu`, pages on http://localhost also get SwiftShader's WebGPU
 * adapter (WEBGPU_FLAGS). Fails with a clear message when Chromium is missing rather than skipping.
 */
export async function launchChromium(options: ChromiumOptions = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (the HTML report is checked in a real browser)`);
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: chromiumFlags(options) });
}
