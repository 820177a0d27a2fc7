// The JSON tensor rules of the decoder, without a server (conformance.test.ts sends the same over HTTP):
// `data` is flat or nested exactly as the shape, and each value has the JSON type its datatype takes.
import { describe, expect, it } from 'vitest';
import { type ValueInfo, fromFloat16 } from '@onnx-forge/runtime';
import { type ModelRequestRules, decodeInferRequest, parseJson, splitBody } from './decode-infer-request.js';

const EMPTY = Buffer.alloc(0);
const LIMITS = { maxElements: 1_000_000 };

/** Decodes a request with one input `x` of `type` and any dims of `rank`; the message of the 400 it answers, or undefined. */
function refusal(datatype: string, type: ValueInfo['type'], shape: number[], data: unknown): string | undefined {
  const inputs: ValueInfo[] = [{ name: 'x', type, shape: shape.map((_, i) => `d${i}`) }];
  try {
    decodeInferRequest({ inputs: [{ name: 'x', datatype, shape, data }] }, EMPTY, inputs, ['y'], LIMITS);
    return undefined;
  } catch (e) {
    expect(e).toMatchObject({ code: 'FORGE_BAD_INPUT', details: { status: 400, input: 'x' } });
    return (e as Error).message;
  }
}

/** As refusal, for a request written as JSON text with `data` as given: the decoder sees the text too, as the server's does. */
function refusalOfText(datatype: string, type: ValueInfo['type'], shape: number[], data: string): string | undefined {
  const json = Buffer.from(`{"inputs": [{"name": "x", "datatype": "${datatype}", "shape": ${JSON.stringify(shape)}, "data": ${data}}]}`);
  try {
    decodeInferRequest(JSON.parse(json.toString()), EMPTY, [{ name: 'x', type, shape: shape.map((_, i) => `d${i}`) }], ['y'], LIMITS, {}, json);
    return undefined;
  } catch (e) {
    expect(e).toMatchObject({ code: 'FORGE_BAD_INPUT', details: { status: 400, input: 'x' } });
    return (e as Error).message;
  }
}

const decode = (datatype: string, type: ValueInfo['type'], shape: number[], data: unknown) =>
  decodeInferRequest({ inputs: [{ name: 'x', datatype, shape, data }] }, EMPTY, [{ name: 'x', type, shape: shape.map((_, i) => `d${i}`) }], ['y'], LIMITS).feeds.x;

describe('JSON data and the declared shape', () => {
  it('takes data flat or nested exactly as the shape, row-major either way', () => {
    const flat = decode('FP32', 'float32', [2, 3], [1, 2, 3, 4, 5, 6]);
    const nested = decode('FP32', 'float32', [2, 3], [[1, 2, 3], [4, 5, 6]]);
    expect(Array.from(nested?.data as Float32Array)).toEqual(Array.from(flat?.data as Float32Array));
    expect(nested?.dims).toEqual([2, 3]);
    expect(Array.from(decode('INT32', 'int32', [], [7])?.data as Int32Array)).toEqual([7]);
  });

  it('takes empty tensors: flat [], or nested down to the level that is empty', () => {
    expect(decode('FP32', 'float32', [0, 3], [])?.data).toHaveLength(0);
    expect(decode('FP32', 'float32', [2, 0, 3], [[], []])?.data).toHaveLength(0);
    expect(refusal('FP32', 'float32', [2, 0, 3], [[], [], []])).toMatch(/data nested as \[3, 0\] does not match shape \[2, 0, 3\]/);
  });

  it('refuses nesting that is not the shape, saying what was expected and what was found', () => {
    expect(refusal('FP32', 'float32', [1, 3, 32, 32], [Array(1536).fill(0), Array(1536).fill(0)])).toBe(
      "input 'x': data nested as [2, 1536] does not match shape [1, 3, 32, 32]; give it flat (3072 values) or nested as the shape",
    );
    expect(refusal('FP32', 'float32', [2, 3], [[1, 2], [3, 4], [5, 6]])).toMatch(/data nested as \[3, 2\] does not match shape \[2, 3\]/);
    expect(refusal('FP32', 'float32', [6], [[1, 2, 3], [4, 5, 6]])).toMatch(/data nested as \[2, 3\] does not match shape \[6\]/);
    expect(refusal('FP32', 'float32', [2, 3], [[[1, 2, 3], [4, 5, 6]]])).toMatch(/data nested as \[1, 2, 3\] does not match shape \[2, 3\]/);
  });

  it('refuses ragged data, naming where it breaks', () => {
    expect(refusal('FP32', 'float32', [2, 3], [[1, 2, 3], [4, 5]])).toBe("input 'x': data is not rectangular: data[1] holds 2 values where data[0] holds 3; give it flat (6 values) or nested as the shape [2, 3]");
    expect(refusal('FP32', 'float32', [2, 2], [[1, 2], [3, [4]]])).toMatch(/data\[1\]\[1\] is an array where data\[0\]\[0\] is a value/);
    expect(refusal('FP32', 'float32', [2, 2], [[1, 2], 3])).toMatch(/data\[1\] is a value where data\[0\] is an array/);
  });

  it('still refuses flat data of the wrong length with the count the shape needs', () => {
    expect(refusal('FP32', 'float32', [2, 3], [1, 2, 3, 4, 5])).toBe("input 'x' has 5 values but shape [2, 3] needs 6");
  });

  it('counts the elements of huge shapes exactly in a 413 (past a double, 4294967295 x 4294967295 was 18446744065119617000)', () => {
    expect(() => decode('FP32', 'float32', [4294967295, 4294967295], [])).toThrow(/alone has 18446744065119617025\)/);
  });
});

describe('JSON values and the datatype', () => {
  it('refuses booleans in numeric tensors, numbers in BOOL and non-strings in BYTES, naming the position', () => {
    expect(refusal('FP32', 'float32', [3], [1, true, 3])).toBe("input 'x': value true at index 1 is not a number: FP32 data takes JSON numbers (true and false go in BOOL tensors)");
    expect(refusal('UINT8', 'uint8', [2, 2], [[1, 2], [3, false]])).toMatch(/^input 'x': value false at data\[1\]\[1\] \(index 3\) is not a number: UINT8/);
    expect(refusal('BOOL', 'bool', [2], [true, 1])).toBe("input 'x': value 1 at index 1 is not a boolean: BOOL data takes JSON true or false");
    expect(refusal('BOOL', 'bool', [2], [null, true])).toMatch(/value null at index 0 is not a boolean/);
    expect(refusal('BYTES', 'string', [2], ['a', true])).toBe("input 'x': value true at index 1 is not a string: BYTES data takes JSON strings");
  });

  it('refuses strings, null and objects in numeric tensors (INT64 strings too: large values go as binary)', () => {
    expect(refusal('FP64', 'float64', [2], [1, '2'])).toMatch(/^input 'x': value "2" at index 1 is not a number: FP64 data takes JSON numbers$/);
    expect(refusal('INT64', 'int64', [2], ['9007199254740993', 1])).toMatch(/value "9007199254740993" at index 0 is not a number: INT64 data takes JSON numbers \(send int64 values beyond ±2\^53 as binary data\)/);
    expect(refusal('INT32', 'int32', [1], [null])).toMatch(/value null at index 0 is not a number/);
    expect(refusal('FP16', 'float16', [1], [{ long: 'x'.repeat(100) }])).toMatch(/value \{"long":"x+\.\.\. at index 0 is not a number/);
  });

  it('keeps the checks that come after the JSON type: integers, and their range', () => {
    expect(refusal('INT32', 'int32', [2], [1, 1.5])).toMatch(/value 1\.5 at index 1 is not an integer/);
    // The same words for every integer type: INT64 said "(use a bigint)", which a JSON client cannot.
    for (const [datatype, type] of [['INT64', 'int64'], ['UINT64', 'uint64'], ['UINT8', 'uint8']] as const) {
      expect(refusal(datatype, type, [2], [1, 2.5])).toBe(`input 'x': value 2.5 at index 1 is not an integer: ${datatype} data takes whole numbers`);
    }
    expect(refusal('INT8', 'int8', [2, 1], [[1], [200]])).toMatch(/value 200 at index 1 is outside the range of INT8/);
    expect(Array.from(decode('BOOL', 'bool', [2, 2], [[true, false], [false, true]])?.data as Uint8Array)).toEqual([1, 0, 0, 1]);
    expect(decode('BYTES', 'string', [2], ['a', ''])?.data).toEqual(['a', '']);
  });
});

describe('JSON data nested very deep', () => {
  it('is refused as not the shape, without walking it and without listing every level', () => {
    const deep = JSON.parse(`${'['.repeat(50_000)}1${']'.repeat(50_000)}`) as unknown;
    expect(refusal('FP32', 'float32', [1, 1], [deep])).toBe("input 'x': data nested as 50001 levels deep does not match shape [1, 1]; give it flat (1 values) or nested as the shape");
  });
});

describe('dims, counts and values the protocol allows but onnxruntime or JSON cannot carry', () => {
  it('refuses a dim past what onnxruntime takes (2^32 - 1), even in an empty tensor, instead of failing inside the model', () => {
    expect(refusal('FP32', 'float32', [0, 4294967296], [])).toBe("input 'x': dim 1 of shape [0, 4294967296] is larger than 4294967295, the most onnxruntime takes");
    expect(refusal('FP32', 'float32', [0, 1e20], [])).toMatch(/^input 'x': dim 1 of shape \[0, 100000000000000000000\] is larger than 4294967295/);
    expect(decode('FP32', 'float32', [0, 4294967295], [])?.dims).toEqual([0, 4294967295]);
  });

  it('refuses INT64 and UINT64 JSON numbers beyond ±2^53, which JSON parsing has already rounded, quoting them as written', () => {
    // 10000000000000000001 parses as 10000000000000000000: taking it would answer for another value.
    expect(refusalOfText('UINT64', 'uint64', [2], '[10000000000000000001, 1]')).toBe("input 'x': value 10000000000000000001 at index 0 is beyond ±2^53, where JSON numbers lose precision: send UINT64 values this large as binary data");
    expect(refusalOfText('INT64', 'int64', [2, 1], '[[1], [-9007199254740993]]')).toBe("input 'x': value -9007199254740993 at index 1 is beyond ±2^53, where JSON numbers lose precision: send INT64 values this large as binary data");
    // Digits in a string are not a number written in the body.
    expect(refusalOfText('INT64', 'int64', [1], '[9007199254740993], "id": "9007199254740992"')).toMatch(/^input 'x': value 9007199254740993 at index 0 is beyond ±2\^53/);
    // Two numbers written differently that parse alike: which one this was is lost, so no value is given (never the rounded one).
    expect(refusalOfText('INT64', 'int64', [2], '[9007199254740993, 9007199254740992]')).toBe("input 'x': the value at index 0 is beyond ±2^53, where JSON numbers lose precision: send INT64 values this large as binary data");
    expect(refusal('INT64', 'int64', [2], [1, -9007199254740992])).toBe("input 'x': the value at index 1 is beyond ±2^53, where JSON numbers lose precision: send INT64 values this large as binary data");
    expect(refusal('UINT64', 'uint64', [1], [-1])).toMatch(/^input 'x': value -1 at index 0 is outside the range of UINT64/);
    expect(Array.from(decode('UINT64', 'uint64', [2], [9007199254740991, 0])?.data as BigUint64Array)).toEqual([9007199254740991n, 0n]);
  });

  it('refuses finite JSON numbers that FP32 or FP16 can only hold as infinity', () => {
    expect(refusal('FP32', 'float32', [2], [1, 1e39])).toBe("input 'x': value 1e+39 at index 1 is outside the range of FP32 (±3.4028234663852886e+38)");
    expect(refusal('FP16', 'float16', [2], [-70000, 1])).toBe("input 'x': value -70000 at index 0 is outside the range of FP16 (±65504)");
    // Values that round to the largest finite value are kept, as IEEE rounding does.
    expect(Array.from(decode('FP16', 'float16', [2], [65519, -65504])?.data as Uint16Array)).toEqual([0x7bff, 0xfbff]);
    expect(Array.from(decode('FP64', 'float64', [1], [1e300])?.data as Float64Array)).toEqual([1e300]);
  });

  it('refuses a JSON number past the range of doubles (JSON parsing makes it infinity), in every numeric datatype', () => {
    expect(refusalOfText('FP64', 'float64', [2], '[1, 1e400]')).toBe(`input 'x': value 1e400 at index 1 is beyond the range of JSON numbers this server reads (±${Number.MAX_VALUE}), so JSON parsing made it infinity; to send infinity, write "Infinity"`);
    expect(refusalOfText('FP32', 'float32', [1, 2], '[[-1e400, 2]]')).toMatch(/^input 'x': value -1e400 at data\[0\]\[0\] \(index 0\) is beyond the range of JSON numbers .* made it minus infinity; to send minus infinity, write "-Infinity"$/);
    expect(refusalOfText('INT32', 'int32', [1], '[2e308]')).toMatch(/^input 'x': value 2e308 at index 0 is beyond the range of JSON numbers this server reads \(±[\d.e+]+\), so JSON parsing made it infinity$/);
    expect(refusalOfText('INT64', 'int64', [1], '[1e999]')).toMatch(/^input 'x': value 1e999 at index 0 is beyond the range/);
    expect(refusal('FP16', 'float16', [1], [Infinity])).toMatch(/^input 'x': the number at index 0 is beyond the range of JSON numbers/);
  });

  it('takes "NaN", "Infinity" and "-Infinity" in floating-point data (as the JSON mapping of protobuf writes them), in no other type', () => {
    const f32 = decode('FP32', 'float32', [3], ['NaN', 'Infinity', '-Infinity'])?.data as Float32Array;
    expect(Array.from(f32)).toEqual([Number.NaN, Infinity, -Infinity]);
    expect(Array.from(fromFloat16(decode('FP16', 'float16', [2], ['-Infinity', 'NaN'])?.data as Uint16Array))).toEqual([-Infinity, Number.NaN]);
    expect(Array.from(decode('FP64', 'float64', [2], [[1], ['NaN']].flat())?.data as Float64Array)).toEqual([1, Number.NaN]);
    expect(refusal('INT32', 'int32', [1], ['NaN'])).toBe("input 'x': value \"NaN\" at index 0 is not a number: INT32 data takes JSON numbers");
    expect(refusal('FP32', 'float32', [1], ['nan'])).toMatch(/value "nan" at index 0 is not a number: FP32 data takes JSON numbers \("NaN", "Infinity" and "-Infinity" for those values\)/);
  });
});

describe('binary BYTES tensors', () => {
  const inputs: ValueInfo[] = [{ name: 's', type: 'string', shape: ['n'] }];
  const bytesInput = (shape: number[], body: Buffer) => () => decodeInferRequest({ inputs: [{ name: 's', shape, datatype: 'BYTES', parameters: { binary_data_size: body.length } }] }, body, inputs, ['y'], LIMITS);
  const element = (s: string) => { const b = Buffer.from(s); const n = Buffer.alloc(4); n.writeUInt32LE(b.length); return Buffer.concat([n, b]); };

  it('stops reading at the count the shape needs: more bytes after it are refused without reading them as elements', () => {
    // 8 MiB of zero-length elements for a shape of one: reading them all would make 2 million strings first.
    expect(bytesInput([1], Buffer.alloc(8 * 1024 * 1024))).toThrow("input 's': the BYTES data holds more than the 1 element shape [1] needs: 8388604 bytes remain after element 0");
    expect(bytesInput([2], Buffer.concat([element('a'), element('b'), Buffer.from([1])]))).toThrow("input 's': the BYTES data holds more than the 2 elements shape [2] needs: 1 bytes remain after element 1");
    expect(bytesInput([3], Buffer.concat([element('a'), element('b')]))).toThrow("input 's' has 2 BYTES elements but shape [3] needs 3");
    expect(bytesInput([0], element('a'))).toThrow(/^input 's': the BYTES data holds more than the 0 elements shape \[0\] needs: 5 bytes remain$/);
    expect(bytesInput([2], Buffer.concat([element('héllo'), element('')]))().feeds.s?.data).toEqual(['héllo', '']);
  });

  it('refuses an element onnxruntime-node would change: one holding a NUL byte (cut there) or bytes that are not UTF-8 (made U+FFFD)', () => {
    const raw = (b: Buffer) => { const n = Buffer.alloc(4); n.writeUInt32LE(b.length); return Buffer.concat([n, b]); };
    expect(bytesInput([2], Buffer.concat([element('ok'), element('a\0b')]))).toThrow(expect.objectContaining({
      message: "input 's': BYTES element 1 holds a NUL byte (at byte 1), where onnxruntime would cut it short: onnxruntime-node carries BYTES tensors as UTF-8 text without NUL bytes",
      details: { status: 400, input: 's', index: 1 },
    }));
    expect(bytesInput([1], raw(Buffer.from([0x61, 0xff, 0x62])))).toThrow("input 's': BYTES element 0 is not valid UTF-8, and would reach the model with U+FFFD in place of its bytes: onnxruntime-node carries BYTES tensors as UTF-8 text without NUL bytes");
    // Half of a character cut off at the end of an element is not UTF-8 either.
    expect(bytesInput([2], Buffer.concat([raw(Buffer.from('é').subarray(0, 1)), element('x')]))).toThrow(/^input 's': BYTES element 0 is not valid UTF-8/);
  });
});

describe('JSON BYTES tensors', () => {
  it('refuses a string onnxruntime-node would change: a NUL character, or half a surrogate pair (not UTF-8 text)', () => {
    expect(refusal('BYTES', 'string', [3], ['a', 'b', 'c\u0000d'])).toBe("input 'x': value \"c\\u0000d\" at index 2 holds a NUL character (\\u0000), where onnxruntime would cut it short: onnxruntime-node carries BYTES tensors as UTF-8 text without NUL bytes");
    expect(refusalOfText('BYTES', 'string', [2, 1], '[["a"], ["\\ud800x"]]')).toMatch(/^input 'x': value "\\ud800x" at data\[1\]\[0\] \(index 1\) holds half a UTF-16 surrogate pair, which is not text/);
    expect(refusal('BYTES', 'string', [1], ['\udc00'])).toMatch(/holds half a UTF-16 surrogate pair/);
    // A whole pair is a character like any other.
    expect(decode('BYTES', 'string', [2], ['😀', '\ud83d\ude00'])?.data).toEqual(['😀', '😀']);
  });
});

describe('requested outputs', () => {
  const inputs: ValueInfo[] = [{ name: 'x', type: 'float32', shape: ['n'] }];
  const outputs = (requested: unknown) => decodeInferRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }], outputs: requested }, EMPTY, inputs, ['y', 'z'], LIMITS).outputs;

  it('returns every output for an empty list, as for none (the protocol: outputs not asked for are all returned)', () => {
    expect(outputs([])).toEqual([{ name: 'y', binary: false }, { name: 'z', binary: false }]);
    expect(outputs(undefined)).toEqual(outputs([]));
  });

  it('refuses binary flags that are not booleans, rather than answering in JSON a client that asked for binary', () => {
    const request = (extra: object) => () => decodeInferRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }], ...extra }, EMPTY, inputs, ['y', 'z'], LIMITS);
    expect(request({ parameters: { binary_data_output: 'true' } })).toThrow('request parameter binary_data_output must be true or false, got "true"');
    expect(request({ outputs: [{ name: 'y', parameters: { binary_data: 1 } }] })).toThrow("output 'y': parameter binary_data must be true or false, got 1");
    expect(request({ parameters: { binary_data_output: true }, outputs: [{ name: 'y', parameters: { binary_data: false } }, { name: 'z' }] })().outputs).toEqual([{ name: 'y', binary: false }, { name: 'z', binary: true }]);
  });

  it('refuses an output asked for twice', () => {
    expect(() => outputs([{ name: 'z' }, { name: 'z', parameters: { binary_data: true } }])).toThrow("output 'z' is asked for twice");
  });
});

describe('what a model adds to the checks (LoadedModel.requestRules)', () => {
  // onnxruntime reports a scalar input and one of unknown rank alike (no shape): the graph tells them apart.
  const inputs: ValueInfo[] = [{ name: 'x', type: 'float32', shape: ['n', 2] }, { name: 'sr', type: 'int64', shape: undefined }];
  const decode = (x: { shape: number[]; data: number[] }, sr: { shape: number[]; data: number[] }, rules: ModelRequestRules, outputs?: object[]) =>
    decodeInferRequest(
      { inputs: [{ name: 'x', datatype: 'FP32', ...x }, { name: 'sr', datatype: 'INT64', ...sr }], ...(outputs ? { outputs } : {}) },
      EMPTY, inputs, ['y'], LIMITS, rules,
    );
  const X = { shape: [1, 2], data: [1, 2] };

  it('takes a scalar as [] or [1] and refuses more values', () => {
    const rules = { scalarInputs: new Set(['sr']) };
    expect(decode(X, { shape: [], data: [16000] }, rules).feeds.sr?.dims).toEqual([]);
    expect(decode(X, { shape: [1], data: [16000] }, rules).feeds.sr?.dims).toEqual([1]);
    expect(() => decode(X, { shape: [2], data: [1, 2] }, rules)).toThrow("input 'sr' is a scalar: give it shape [] and one value, got shape [2]");
    // One value in more dimensions is not a scalar either.
    expect(() => decode(X, { shape: [1, 1, 1, 1], data: [1] }, rules)).toThrow("input 'sr' is a scalar: give it shape [] and one value, got shape [1, 1, 1, 1]");
    // Without the rule (an input of unknown rank), any shape goes.
    expect(decode(X, { shape: [2], data: [1, 2] }, {}).feeds.sr?.dims).toEqual([2]);
  });

  it('refuses empty tensors for a model that cannot take them, saying why', () => {
    const rules = { noEmptyTensors: 'it runs an LSTM' };
    expect(() => decode({ shape: [0, 2], data: [] }, { shape: [], data: [1] }, rules)).toThrow("input 'x' is empty (shape [0, 2]), which this model cannot take: it runs an LSTM");
    expect(decode({ shape: [0, 2], data: [] }, { shape: [], data: [1] }, {}).feeds.x?.dims).toEqual([0, 2]);
  });

  it('refuses to return an output that is not a tensor with 400 FORGE_UNSUPPORTED_TYPE, naming the ones it can', () => {
    const rules = { nonTensorOutputs: ['probabilities'] };
    expect(decode(X, { shape: [], data: [1] }, rules).outputs).toEqual([{ name: 'y', binary: false }]);
    expect(() => decode(X, { shape: [], data: [1] }, rules, [{ name: 'probabilities' }])).toThrow(
      expect.objectContaining({
        code: 'FORGE_UNSUPPORTED_TYPE',
        details: { status: 400, output: 'probabilities' },
        message: "output 'probabilities' is not a tensor (a sequence or map), which the inference protocol cannot carry and onnxruntime-node cannot return; ask for its tensor outputs: 'y'",
      }),
    );
  });
});

describe('Inference-Header-Content-Length', () => {
  const body = Buffer.from('{"inputs":[]}0123');
  it('takes a decimal byte count, and nothing else that Number() would read as one', () => {
    expect(splitBody(body, '13').json.toString()).toBe('{"inputs":[]}');
    for (const text of ['0x0d', '1.3e1', '+13', ' 13', '13 ', '013', '', '-1', '0', 'abc', '13, 13']) {
      expect(() => splitBody(body, text), JSON.stringify(text)).toThrow(/^header Inference-Header-Content-Length must be the byte length of the JSON part of the body \(1 to 17\), got /);
    }
  });
});

describe('parseJson', () => {
  const message = (body: Buffer, binaryHeaderMissing: boolean) => {
    try {
      parseJson(body, { binaryHeaderMissing });
      return undefined;
    } catch (e) {
      expect(e).toMatchObject({ code: 'FORGE_BAD_INPUT', details: { status: 400 } });
      return (e as Error).message;
    }
  };
  const hint = /; the body is (\d+) bytes of JSON followed by (\d+) bytes that are not: to send binary tensor data after the JSON, give the header Inference-Header-Content-Length: (\d+) \(the byte length of the JSON part\)$/;

  it('says the binary header is missing when whole JSON is followed by bytes that are not, counting bytes (not characters) and skipping braces in strings', () => {
    const json = Buffer.from(' {"id": "é}\\"{[", "inputs": [{"name": "x", "parameters": {"binary_data_size": 4}}]}', 'utf8');
    const body = Buffer.concat([json, Buffer.from([0x00, 0x00, 0x80, 0x3f])]);
    const text = message(body, true);
    expect(text).toMatch(/^malformed JSON in the request body: /);
    expect(text?.match(hint)?.slice(1)).toEqual([String(json.length), '4', String(json.length)]);
    // Not when the header was given (its own check speaks), nor for JSON that is broken before its end.
    expect(message(body, false)).not.toMatch(hint);
    expect(message(Buffer.from('{"inputs": [}\u0000\u0001'), true)).not.toMatch(hint);
    expect(message(Buffer.from('{"inputs": ['), true)).not.toMatch(hint);
    // Trailing whitespace is still JSON.
    expect(parseJson(Buffer.from('{"inputs": []}\n  '), { binaryHeaderMissing: true })).toEqual({ inputs: [] });
  });

  // A body saved as "UTF-8 with BOM" (PowerShell's Out-File, Notepad) and sent with curl --data-binary
  // was refused as malformed: "Unexpected token '\uFEFF'", a character the message showed as nothing.
  // RFC 8259 (8.1) lets a parser ignore the mark; a binary body's header length counts its three bytes.
  it('reads JSON that opens with a UTF-8 byte order mark', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    expect(parseJson(Buffer.concat([bom, Buffer.from('{"inputs": []}')]))).toEqual({ inputs: [] });
    const json = Buffer.concat([bom, Buffer.from('{"inputs": [{"name": "x", "parameters": {"binary_data_size": 4}}]}')]);
    const { json: header } = splitBody(Buffer.concat([json, Buffer.alloc(4)]), String(json.length));
    expect(parseJson(header)).toMatchObject({ inputs: [{ name: 'x' }] });
    // Sent without the header, the hint's length counts the mark too.
    expect(message(Buffer.concat([json, Buffer.from([0x00, 0x00, 0x80, 0x3f])]), true)?.match(hint)?.slice(1)).toEqual([String(json.length), '4', String(json.length)]);
    // Only at the start, and only once: anywhere else it is still an unexpected character.
    expect(message(Buffer.concat([bom, bom, Buffer.from('{}')]), false)).toMatch(/^malformed JSON in the request body: /);
  });
});

// Triton's classification extension: tritonclient's InferRequestedOutput(name, class_count=3) asks with
// output parameter "classification": 3 and reads the answer as BYTES "<value>:<index>" strings, shape
// [batch, 3]. This server does not implement it (GET /v2 does not list it), yet answered the raw tensor
// as if the parameter were not there, for the client to misread.
describe('an output asked for as a classification', () => {
  const ask = (parameters: object) => () =>
    decodeInferRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }], outputs: [{ name: 'y', parameters }] }, EMPTY, [{ name: 'x', type: 'float32', shape: ['n'] }], ['y'], LIMITS);

  it('is refused with 400 naming the extension, where the raw tensor came back', () => {
    expect(ask({ classification: 3 })).toThrow(
      expect.objectContaining({ code: 'FORGE_BAD_INPUT', details: expect.objectContaining({ status: 400, output: 'y' }), message: "output 'y': parameter classification asks for the classification extension, which this server does not implement (GET /v2 lists its extensions); ask for the tensor itself and take its top 3 from it" }),
    );
  });

  it('is the tensor as usual with a count of 0 (tritonclient\'s default, never sent) or no such parameter', () => {
    expect(ask({ classification: 0 })().outputs).toEqual([{ name: 'y', binary: false }]);
    expect(ask({ binary_data: true })().outputs).toEqual([{ name: 'y', binary: true }]);
  });
});
