import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { KERNELS_WASM_BASE64 } from './wasm-bytes.generated.js';

const script = fileURLToPath(new URL('../../scripts/build-kernels.mjs', import.meta.url));

function ascAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('assemblyscript/package.json');
    return true;
  } catch {
    return false;
  }
}

describe('wasm-bytes.generated.ts', () => {
  it.skipIf(!ascAvailable())(
    'holds exactly what the AssemblyScript sources compile to (skipped when assemblyscript is not installed)',
    async () => {
      const { stdout } = await promisify(execFile)(process.execPath, [script, '--print-base64'], { maxBuffer: 1 << 24 });
      // On failure: run `npm run kernels -w @onnx-forge/core` and commit src/kernels/wasm-bytes.generated.ts.
      expect(stdout === KERNELS_WASM_BASE64, 'src/kernels/wasm-bytes.generated.ts is stale: run `npm run kernels -w @onnx-forge/core`').toBe(true);
    },
  );

  it('is a module with no imports, an exported memory and every kernel', () => {
    const module = new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
    expect(WebAssembly.Module.imports(module)).toEqual([]);
    expect(WebAssembly.Module.exports(module).map((e) => `${e.name}:${e.kind}`).sort()).toEqual(
      [
        'memory:memory', 'heap_base:function', 'f32_to_f16:function', 'f16_to_f32:function', 'min_max:function',
        'range_runs:function', 'range_rows:function', 'quantize_runs:function', 'quantize_rows:function',
        'dequantize_runs:function', 'dequantize_rows:function', 'histogram:function', 'int4_params:function', 'int4_pack:function',
      ].sort(),
    );
  });
});
