/** onnxruntime's log levels, least to most severe. */
export type OrtLogLevel = 'verbose' | 'info' | 'warning' | 'error' | 'fatal';

/**
 * Sets onnxruntime-node's process-wide log level (its environment logger, created with the first
 * session, so call this before creating one). Programs that report onnxruntime's errors themselves
 * (from the rejected promise) want 'fatal': at 'error', onnxruntime also prints "[E:onnxruntime …]"
 * lines for a failed run on stderr, around the program's own message. onnxruntime-node is loaded
 * here, on use.
 */
export async function setOnnxruntimeLogLevel(level: OrtLogLevel): Promise<void> {
  // Imported on use: browsers load this package's main entry and never onnxruntime-node.
  const { loadOrtNode } = await import('./node-backend.js');
  const ort = await loadOrtNode();
  ort.env.logLevel = level;
}
