import { fileURLToPath } from 'node:url';
import type { ChromiumOptions } from '../chromium.js';
import { type TestPage, openTestPage } from '../test-page.js';
import type { RuntimePageApi } from './page-entry.js';

/**
 * A page that runs the runtime's own sources in Debian's Chromium (page-entry.ts, served by
 * openTestPage): the Node-only backend stays in a chunk the page never loads.
 */
export type RuntimePage = TestPage<RuntimePageApi>;

export interface RuntimePageOptions extends ChromiumOptions {
  /** Model files the page may load by URL, served as /models/<name>. */
  readonly models?: Readonly<Record<string, Uint8Array>>;
}

/** Starts Chromium (with SwiftShader's WebGPU when `webgpu`) on the runtime's page, ready to call. */
export function openRuntimePage(options: RuntimePageOptions = {}): Promise<RuntimePage> {
  return openTestPage<RuntimePageApi>({
    ...options, entry: fileURLToPath(new URL('./page-entry.ts', import.meta.url)), global: 'forgeRuntime', title: 'runtime',
    purpose: 'the runtime\'s web backend is tested in a real browser', external: ['node:*', 'onnxruntime-node'],
  });
}
