import { ForgeError, ForgeErrorCode } from '../errors.js';

/**
 * Random-access bytes a model or its weights are read from without holding them in memory: a file
 * in Node (`fileSource`), a Blob or File in a browser (`blobSource`), or a buffer (`memorySource`).
 * Tensors read lazily keep a region of a source until something reads them.
 */
export interface ByteSource {
  /** Size in bytes. */
  readonly size: number;
  /** What the source is, for messages (a path, a file name). */
  readonly name: string;
  /** Bytes [offset, offset + length); rejects with FORGE_EXTERNAL_DATA when the source ends before. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * The same, synchronously, where the source allows it (files in Node, memory, Blobs inside a Web
   * Worker). Passes read weights synchronously, so a model whose sources lack it can be decoded and
   * written, but not converted. With `into` (at least `length` bytes), a source that copies reads
   * into its start and returns that view; a source that holds the bytes already returns a view of
   * its own, so use what is returned.
   */
  readSync?(offset: number, length: number, into?: Uint8Array): Uint8Array;
}

/** Checks a region against a source's size, with a message naming the source. */
export function checkRegion(source: Pick<ByteSource, 'size' | 'name'>, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new ForgeError(ForgeErrorCode.EXTERNAL_DATA, `bad region [${offset}, +${length}) of "${source.name}"`, { details: { source: source.name, offset, length } });
  }
  if (offset + length > source.size) {
    throw new ForgeError(
      ForgeErrorCode.EXTERNAL_DATA,
      `"${source.name}" ends at ${source.size} bytes, before the region [${offset}, ${offset + length}) a tensor needs: the file is truncated or was replaced; restore it or re-export the model`,
      { details: { source: source.name, offset, length, size: source.size } },
    );
  }
}

/** A source over bytes already in memory (reads are views, not copies). */
export function memorySource(bytes: Uint8Array, name = 'memory'): ByteSource {
  const readSync = (offset: number, length: number) => {
    checkRegion(source, offset, length);
    return bytes.subarray(offset, offset + length);
  };
  const source: ByteSource = {
    size: bytes.length,
    name,
    readSync,
    read: async (offset, length) => readSync(offset, length),
  };
  return source;
}
