/**
 * Test models for packages that check accuracy (`@onnx-forge/graph-ops/testing`): builder models with
 * the numerics that break plain INT8 or FP16 in real models, and seeded inputs for the packaged real
 * models (openWakeWord, Silero VAD) that the tests and the `models` benchmark share. They depend on
 * core only.
 */
export { gemmLstmCell, largeLogitSigmoid, logMelFrontEnd, sigmoidSegmentation } from './precision-models.js';
export {
  OWW_DIR, classifierDecision, classifierFeeds, classifierSamples, decisionInputs, embeddingFeeds, embeddingsOf, melFeeds, melFrames,
  positiveScore, samplesFor, seededAudio,
} from './wakeword.js';
export type { FeedsRunner } from './wakeword.js';
export { SILERO, sileroChunks, sileroFeeds, sileroSpeech, sileroStream } from './silero-vad.js';
export { convWeightTypes } from './qdq-weights.js';
export { TEST_DECODER, decoderPrompts, greedyAgreement, meanTop1Probability } from './decoder-eval.js';
