import { ForgeError, ForgeErrorCode, errorMessage } from '../errors.js';
import { checkRegion, type ByteSource } from './byte-source.js';

/** The parts of a Blob (or File) a source needs: Node's `buffer.Blob` and the browser's alike. */
export interface BlobLike {
  readonly size: number;
  readonly name?: string;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

interface FileReaderSyncLike {
  readAsArrayBuffer(blob: unknown): ArrayBuffer;
}

/**
 * A Blob or File (a model dropped on a page) as a ByteSource: each read slices the region and reads
 * only that, so a model larger than the page's memory is decoded and written a region at a time.
 * Synchronous reads, which passes need to convert weights, exist where the platform has
 * `FileReaderSync`: inside a Web Worker.
 */
export function blobSource(blob: BlobLike, name = blob.name ?? 'blob'): ByteSource {
  const fail = (offset: number, length: number, e: unknown): ForgeError =>
    new ForgeError(ForgeErrorCode.EXTERNAL_DATA, `cannot read "${name}" [${offset}, ${offset + length}): ${errorMessage(e)}`, { cause: e, details: { source: name, offset, length } });
  const check = (offset: number, length: number, buf: ArrayBuffer): Uint8Array => {
    if (buf.byteLength !== length) throw fail(offset, length, new Error(`got ${buf.byteLength} bytes: the file changed after it was opened`));
    return new Uint8Array(buf);
  };
  const Reader = (globalThis as { FileReaderSync?: new () => FileReaderSyncLike }).FileReaderSync;
  const source: ByteSource = {
    size: blob.size,
    name,
    async read(offset, length) {
      checkRegion(source, offset, length);
      let buf: ArrayBuffer;
      try {
        buf = await blob.slice(offset, offset + length).arrayBuffer();
      } catch (e) {
        throw fail(offset, length, e);
      }
      return check(offset, length, buf);
    },
  };
  if (Reader) {
    const reader = new Reader();
    (source as { readSync?: ByteSource['readSync'] }).readSync = (offset, length) => {
      checkRegion(source, offset, length);
      let buf: ArrayBuffer;
      try {
        buf = reader.readAsArrayBuffer(blob.slice(offset, offset + length));
      } catch (e) {
        throw fail(offset, length, e);
      }
      return check(offset, length, buf);
    };
  }
  return source;
}
