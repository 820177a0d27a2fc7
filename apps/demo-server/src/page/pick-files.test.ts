import { PROTOBUF_LIMIT } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { PAGE_MODEL_LIMIT, pickModel } from './pick-files.js';

const file = (name: string, size = 1000) => ({ name, size });

describe('pickModel: which of the files given the page runs', () => {
  it('takes one file alone (whatever its name), or the one .onnx among its data files', () => {
    const alone = file('model.bin');
    expect(pickModel([alone])).toEqual({ model: alone, sideFiles: [] });
    const onnx = file('net.onnx');
    const data = file('net.onnx.data');
    expect(pickModel([data, onnx])).toEqual({ model: onnx, sideFiles: [data] });
  });

  it('refuses two models, or files among which none is a model', () => {
    expect(pickModel([file('a.onnx'), file('b.ONNX')])).toEqual({ error: expect.stringMatching(/^2 models were given at once \(a\.onnx, b\.ONNX\): pick one \.onnx file/) });
    expect(pickModel([file('a.bin'), file('b.bin')])).toEqual({ error: expect.stringMatching(/^none of the files given \(a\.bin, b\.bin\) is an \.onnx model/) });
  });

  it('takes models up to the size core can hold in one piece', () => {
    expect(PAGE_MODEL_LIMIT).toBe(PROTOBUF_LIMIT);
  });

  it('refuses a model past 2 GB, alone or with its data files, and says where such models go', () => {
    const big = pickModel([file('huge.onnx', PROTOBUF_LIMIT + 1)]);
    expect(big).toEqual({ error: expect.stringMatching(/^huge\.onnx is 2\.00 GB, more than the page can take: .*2 GB \(protobuf's limit\)\. Make them with the CLI, .*onnx-forge fp16 and onnx-forge quantize/) });
    const split = pickModel([file('llm.onnx', 200_000), file('llm.onnx.data', 2 ** 31)]);
    expect(split).toEqual({ error: expect.stringMatching(/^llm\.onnx and its data files hold 2\.00 GB, more than the page can take/) });
    // At the limit exactly, the page still tries.
    expect(pickModel([file('edge.onnx', PROTOBUF_LIMIT)])).toMatchObject({ model: { name: 'edge.onnx' } });
  });
});
