import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unstagePaths } from './staged-paths.js';

/** Messages made while a version is staged, as they read once the staging folder is renamed or removed. */
describe('unstagePaths', () => {
  const staging = join('/out', 'repository', 'm', '.staging-abc123');
  const dir = join('/out', 'repository', 'm', '3');
  const kept = new Set(['fp32.onnx', 'int8-dynamic.onnx', 'int8-dynamic.onnx.data']);

  it('names a kept file where it is now, in the version folder', () => {
    expect(unstagePaths(`peak memory not measured: cannot read ${join(staging, 'int8-dynamic.onnx')}: EACCES`, staging, dir, kept))
      .toBe(`peak memory not measured: cannot read ${join(dir, 'int8-dynamic.onnx')}: EACCES`);
    expect(unstagePaths(`short read of ${join(staging, 'int8-dynamic.onnx.data')}.`, staging, dir, kept)).toBe(`short read of ${join(dir, 'int8-dynamic.onnx.data')}.`);
  });

  it('names the variant of a file that was not kept, and says so', () => {
    expect(unstagePaths(`Load model from ${join(staging, 'fp16.onnx')} failed:Fatal error`, staging, dir, kept)).toBe('Load model from the fp16 variant (fp16.onnx, not kept) failed:Fatal error');
    expect(unstagePaths(`cannot write ${join(staging, 'int8-static.onnx.data')}.`, staging, dir, kept)).toBe('cannot write the int8-static variant (int8-static.onnx.data, not kept).');
    expect(unstagePaths(`odd ${join(staging, 'other.bin')}`, staging, dir, kept)).toBe('odd other.bin (not kept)');
  });

  it('keeps no file when nothing was committed, and names the folder itself by what it became', () => {
    expect(unstagePaths(`Load model from ${join(staging, 'fp32.onnx')} failed`, staging, null, kept)).toBe('Load model from the fp32 variant (fp32.onnx, not kept) failed');
    expect(unstagePaths(`in ${staging}: full`, staging, dir, kept)).toBe(`in ${dir}: full`);
    expect(unstagePaths(`in ${staging}: full`, staging, null, kept)).toBe('in the staged version (not kept): full');
    expect(unstagePaths('no path here', staging, null, kept)).toBe('no path here');
  });
});
