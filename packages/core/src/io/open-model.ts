import { ForgeError, ForgeErrorCode } from '../errors.js';
import { Model } from '../ir/model.js';
import { setTensorRegion } from '../ir/tensor-data.js';
import { blobSource, type BlobLike } from './blob-source.js';
import type { ByteSource } from './byte-source.js';
import { decodeModelLazily } from './decode-lazily.js';
import { externalRegions, folderResolver, type ExternalDataResolver } from './external-data.js';
import { fileSource } from './file-source.js';

export interface OpenModelOptions {
  /**
   * Where external data comes from. For a path: true (default) resolves locations in the model's
   * folder, never outside it. For a source or Blob: a function from location to source (the files a
   * user dropped next to the model). false leaves external tensors as references.
   */
  externalData?: boolean | ExternalDataResolver;
  /** Inline raw_data payloads at least this long stay in the file (default 4096). */
  minLazyBytes?: number;
}

/**
 * Opens a model lazily: the graph is decoded without its weights, and every tensor's data (inline
 * raw_data of at least `minLazyBytes`, and all external data) stays a region of its file, checked to
 * exist, read when a pass or the writer needs it. Peak memory for converting and writing the model is
 * then its graph plus the tensors in hand, and the same passes run on it as on a model in memory.
 * `input`: a path (Node), a ByteSource, or a Blob/File (browser; synchronous reads, which converting
 * weights needs, exist inside a Web Worker).
 */
export async function openModel(input: string | ByteSource | BlobLike, options: OpenModelOptions = {}): Promise<Model> {
  let source: ByteSource;
  let resolve: ExternalDataResolver | undefined;
  let where: string;
  if (typeof input === 'string') {
    source = await fileSource(input, { what: 'model' });
    const [fs, path] = await Promise.all([import('node:fs'), import('node:path')]);
    where = path.dirname(path.resolve(input));
    if (typeof options.externalData === 'function') resolve = options.externalData;
    else if (options.externalData !== false) resolve = folderResolver(where, fs, path, input);
  } else {
    source = isByteSource(input) ? input : blobSource(input);
    where = source.name;
    if (typeof options.externalData === 'function') resolve = options.externalData;
    else if (options.externalData === true) {
      throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'openModel: externalData: true resolves files next to a model path; for a source or Blob give a function from location to source');
    }
  }
  if (source.size === 0) {
    throw new ForgeError(ForgeErrorCode.INVALID_MODEL, `the model is empty (0 bytes) (${source.name}): check the path and that the file was fully written`, { details: { bytes: 0 } });
  }
  const proto = await decodeModelLazily(source, options.minLazyBytes === undefined ? {} : { minBytes: options.minLazyBytes });
  // Without a resolver, external tensors stay references (reading one says so).
  if (resolve) for (const r of await externalRegions(proto, resolve, where)) setTensorRegion(r.tensor, r.source, r.offset, r.length);
  return new Model(proto);
}

function isByteSource(x: ByteSource | BlobLike): x is ByteSource {
  return typeof (x as ByteSource).read === 'function';
}
