/**
 * Feeds made for the reference, as a variant takes them (float32 ↔ float16 for a variant converted
 * without keeping its I/O types): hybrid's, which its session backends apply to every request.
 */
export { feedsForSession } from '@onnx-forge/hybrid';
