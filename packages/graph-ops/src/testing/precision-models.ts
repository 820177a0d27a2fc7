import { ModelBuilder, Rng, type Model } from '@onnx-forge/core';

/**
 * Builder models with the numerics that break plain INT8 or FP16 in real models (issue 8): an LSTM
 * cell built from Gemm nodes whose recurrent state compounds 8-bit error, a segmentation net whose
 * sigmoid probability map flips pixels, a log-mel front end whose power spectrum overflows float16,
 * and a sigmoid map after logits too large for float16.
 */

const normal = (rng: Rng, n: number, std: number) => rng.fillNormalish(new Float32Array(n), std);

/**
 * An LSTM cell unrolled over `steps` with Gemm nodes (as exporters write LSTMs without the LSTM op):
 * gates = Gemm(x_t, W) + Gemm(h, R), then i, f, o = sigmoid, g = tanh, c = f*c + i*g, h = o*tanh(c).
 * Input x [steps, batch, input]; outputs the last hidden state `h` and cell state `c`.
 */
export function gemmLstmCell(o: { steps?: number; batch?: number; input?: number; hidden?: number; recurrentStd?: number; forgetBias?: number; seed?: number } = {}): Model {
  const { steps = 32, batch = 2, input = 16, hidden = 32, recurrentStd = 0.72, forgetBias = 2 } = o;
  const rng = new Rng(o.seed ?? 5);
  const b = new ModelBuilder({ opset: 17, graphName: 'gemm_lstm_cell' });
  const x = b.input('x', 'float32', [steps, batch, input]);
  const W = b.initializer('lstm.W', normal(rng, input * 4 * hidden, 0.5), [input, 4 * hidden]);
  // A recurrent matrix near the edge of stability and forget gates mostly open: the state carries and
  // compounds every error, more on some inputs than others (int8-auto.test.ts prints the cosines).
  const R = b.initializer('lstm.R', normal(rng, hidden * 4 * hidden, recurrentStd), [hidden, 4 * hidden]);
  const biasValues = normal(rng, 4 * hidden, 0.2);
  for (let k = hidden; k < 2 * hidden; k++) biasValues[k] = (biasValues[k] as number) + forgetBias;
  const bias = b.initializer('lstm.bias', biasValues, [4 * hidden]);
  let h = b.initializer('h0', new Float32Array(batch * hidden), [batch, hidden]);
  let c = b.initializer('c0', new Float32Array(batch * hidden), [batch, hidden]);
  const split = b.constant([hidden, hidden, hidden, hidden], 'int64');
  for (let t = 0; t < steps; t++) {
    const xt = b.op('Gather', [x, b.constant(t, 'int64')], { axis: 0 });
    const gx = b.op('Gemm', [xt, W, bias], {}, { name: `step${t}_input_gemm` });
    const gh = b.op('Gemm', [h, R], {}, { name: `step${t}_recurrent_gemm` });
    const gates = b.op('Add', [gx, gh]);
    const [i, f, g, og] = b.opN('Split', [gates, split], { axis: 1 }, { outputs: 4 }) as [string, string, string, string];
    c = b.op('Add', [b.op('Mul', [b.op('Sigmoid', [f]), c]), b.op('Mul', [b.op('Sigmoid', [i]), b.op('Tanh', [g])])]);
    h = b.op('Mul', [b.op('Sigmoid', [og]), b.op('Tanh', [c])]);
  }
  b.output(b.op('Identity', [h], {}, { outputs: ['h'] }), 'float32', [batch, hidden]);
  b.output(b.op('Identity', [c], {}, { outputs: ['c'] }), 'float32', [batch, hidden]);
  return b.build();
}

/**
 * A small segmentation net: Conv-Relu blocks, then a 1-channel Conv whose large logits go through a
 * Sigmoid into a probability map [batch, 1, size, size] of small objects on background (about 0.5 %
 * of pixels above 0.5): 8-bit error moves the few logits near the threshold, and pixels flip.
 */
export function sigmoidSegmentation(o: { channels?: number[]; size?: number; logitScale?: number; logitBias?: number; seed?: number } = {}): Model {
  const { channels = [32, 64, 64, 32], size = 32, logitScale = 40, logitBias = -8 } = o;
  const rng = new Rng(o.seed ?? 11);
  const b = new ModelBuilder({ opset: 17, graphName: 'sigmoid_segmentation' });
  let x = b.input('image', 'float32', ['batch', 3, size, size]);
  let cin = 3;
  channels.forEach((cout, i) => {
    const w = b.initializer(`conv${i}.weight`, normal(rng, cout * cin * 9, Math.sqrt(2 / (cin * 9))), [cout, cin, 3, 3]);
    const bias = b.initializer(`conv${i}.bias`, normal(rng, cout, 0.1), [cout]);
    x = b.op('Relu', [b.op('Conv', [x, w, bias], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] })]);
    cin = cout;
  });
  const head = b.initializer('head.weight', normal(rng, cin, logitScale / Math.sqrt(cin)), [1, cin, 1, 1]);
  const headBias = b.initializer('head.bias', Float32Array.of(logitBias), [1]);
  const logits = b.op('Conv', [x, head, headBias], { kernel_shape: [1, 1] });
  b.output(b.op('Sigmoid', [logits], {}, { outputs: ['probability'] }), 'float32', ['batch', 1, size, size]);
  return b.build();
}

/**
 * A log-mel front end on int16-scaled audio [1, samples], laid out as STFT exports write it: a Conv
 * per DFT part (cos, sin) over 400-sample frames every 160 samples, to [1, 1, frames, bins],
 * power = re^2 + im^2 (Pow), a mel filterbank MatMul, Clip and Log, in decibels below the loudest bin.
 * The spectrum of loud audio passes float16's 65504 and its power reaches 1e10: in float16 it
 * overflows, and inf - inf turns the output into NaN.
 */
export function logMelFrontEnd(o: { frame?: number; hop?: number; bins?: number; mels?: number } = {}): Model {
  const { frame = 400, hop = 160, bins = 201, mels = 40 } = o;
  const b = new ModelBuilder({ opset: 17, graphName: 'log_mel' });
  const audio = b.input('audio', 'float32', [1, 'samples']);
  const cos = new Float32Array(bins * frame);
  const sin = new Float32Array(bins * frame);
  for (let k = 0; k < bins; k++) {
    for (let n = 0; n < frame; n++) {
      const window = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / frame);
      cos[k * frame + n] = window * Math.cos((2 * Math.PI * n * k) / frame);
      sin[k * frame + n] = -window * Math.sin((2 * Math.PI * n * k) / frame);
    }
  }
  const x = b.op('Unsqueeze', [audio, b.constant([1], 'int64')]);
  // [1, bins, frames] -> [1, 1, frames, bins], as openWakeWord's melspectrogram does it. Two float16
  // data-movement ops in a row stay float16 in onnxruntime (a single one between float32 nodes is
  // moved to float32), so the spectrum really is held in float16 there.
  const part = (name: string, w: Float32Array) => {
    const spectrum = b.op('Conv', [x, b.initializer(name, w, [bins, 1, frame])], { kernel_shape: [frame], strides: [hop] });
    return b.op('Transpose', [b.op('Unsqueeze', [spectrum, b.constant([1], 'int64')])], { perm: [0, 1, 3, 2] });
  };
  const two = b.constant(2);
  const power = b.op('Add', [b.op('Pow', [part('stft.cos', cos), two]), b.op('Pow', [part('stft.sin', sin), two])]);
  const fb = new Float32Array(bins * mels);
  for (let m = 0; m < mels; m++) {
    const lo = Math.floor((m * bins) / (mels + 1));
    const mid = Math.floor(((m + 1) * bins) / (mels + 1));
    const hi = Math.floor(((m + 2) * bins) / (mels + 1));
    for (let k = lo; k < hi; k++) fb[k * mels + m] = k < mid ? (k - lo + 1) / (mid - lo + 1) : (hi - k) / (hi - mid + 1);
  }
  const mel = b.op('MatMul', [power, b.initializer('mel.filterbank', fb, [bins, mels])]);
  // Clip before the log, then decibels relative to the loudest bin, as torchaudio-style front ends do.
  const db = b.op('Mul', [b.op('Log', [b.op('Clip', [mel, b.constant(1e-10)])]), b.constant(10 / Math.LN10)]);
  const rel = b.op('Sub', [db, b.op('ReduceMax', [db], { keepdims: 1 })]);
  b.output(b.op('Identity', [rel], {}, { outputs: ['log_mel'] }), 'float32', [1, 1, null, mels]);
  return b.build();
}

/**
 * A probability map after large logits: features [batch, 64] -> a dense head whose logits reach
 * ~1e5 -> reshaped and transposed into a [batch, 1, 16, 16] map -> a 3x3 refinement Conv (a
 * Laplacian-like kernel, so it subtracts neighbours) scaled down -> Sigmoid. In float16 the logits
 * overflow to infinity (Reshape and Transpose have float16 kernels in onnxruntime, so the map really
 * is float16 there) and the Conv's inf - inf gives NaN.
 */
export function largeLogitSigmoid(o: { features?: number; size?: number; scale?: number; seed?: number } = {}): Model {
  const { features = 64, size = 16, scale = 4e4 } = o;
  const rng = new Rng(o.seed ?? 17);
  const b = new ModelBuilder({ opset: 17, graphName: 'large_logit_sigmoid' });
  const x = b.input('features', 'float32', ['batch', features]);
  const w = b.initializer('head.weight', normal(rng, features * size * size, scale / Math.sqrt(features)), [features, size * size]);
  const logits = b.op('Gemm', [x, w]);
  const map = b.op('Transpose', [b.op('Reshape', [logits, b.constant([-1, 1, size, size], 'int64')])], { perm: [0, 1, 3, 2] });
  const k = Float32Array.from([-1, -1, -1, -1, 8, -1, -1, -1, -1], (v) => v / scale);
  const refined = b.op('Conv', [map, b.initializer('refine.weight', k, [1, 1, 3, 3]), b.initializer('refine.bias', Float32Array.of(0), [1])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  b.output(b.op('Sigmoid', [refined], {}, { outputs: ['probability'] }), 'float32', ['batch', 1, size, size]);
  return b.build();
}
