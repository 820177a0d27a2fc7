/**
 * Test models for packages that check accuracy (`@onnx-forge/graph-ops/testing`): builder models with
 * the numerics that break plain INT8 or FP16 in real models. They depend on core only.
 */
export { gemmLstmCell, largeLogitSigmoid, logMelFrontEnd, sigmoidSegmentation } from './precision-models.js';
