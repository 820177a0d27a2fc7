import type { ModelRegistry } from '../models/model-registry.js';
import type { CodecPool } from '../protocol/codec-pool.js';
import type { ServerMetrics } from '../server-metrics.js';
import type { ResolvedServerOptions } from '../server-options.js';

/** What the routes share. */
export interface ServerContext {
  readonly models: ModelRegistry;
  readonly metrics: ServerMetrics;
  readonly options: ResolvedServerOptions;
  /** Decodes large JSON requests and encodes large JSON responses off the event loop. */
  readonly codec: CodecPool;
  /** False from the moment shutdown begins (readiness then answers 503). */
  accepting: boolean;
}

/** This server's name and version in server metadata. */
export const SERVER_NAME = 'onnx-forge';
export const SERVER_VERSION = '0.1.0';
/** Protocol extensions this server implements (server metadata lists them). */
export const EXTENSIONS = ['binary_tensor_data', 'model_repository', 'statistics', 'metrics'];
