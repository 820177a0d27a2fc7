import { ForgeError, ForgeErrorCode, errorMessage } from '../errors.js';
import { checkRegion, type ByteSource } from './byte-source.js';

// Node built-ins are imported on use, so the rest of core still bundles for the browser.
type Fs = typeof import('node:fs');

/**
 * A file in Node as a ByteSource. Each read opens the file, reads and closes it again, so a model
 * read lazily holds no descriptor between reads (nothing to close, nothing leaked when it is
 * dropped). The size is taken once: a file cut short later fails the read that passes its end.
 */
export async function fileSource(path: string, options: { what?: string } = {}): Promise<ByteSource> {
  const fs = await import('node:fs');
  let st: import('node:fs').Stats;
  try {
    st = fs.statSync(path);
    if (!st.isFile()) throw notAFile(st);
  } catch (e) {
    throw unreadableFile(path, e, options.what);
  }
  return fileSourceOf(fs, path, st.size, st);
}

/**
 * FORGE_IO for a file that cannot be read, worded the same by every reader: `cannot read model "x":
 * the file does not exist` (ENOENT), `the path is a folder, not a model file` (EISDIR), `a part of the
 * path is a file, not a folder` (ENOTDIR), `no permission to read it` (EACCES, EPERM), else the
 * system's message. `what` names the file's kind ("model").
 */
export function unreadableFile(path: string, error: unknown, what?: string): ForgeError {
  const code = (error as NodeJS.ErrnoException).code;
  const hint =
    code === 'ENOENT' ? 'the file does not exist'
    : code === 'EISDIR' ? `the path is a folder, not a ${what ?? 'file'}${what ? ' file' : ''}`
    : code === 'ENOTDIR' ? 'a part of the path is a file, not a folder'
    : code === 'EACCES' || code === 'EPERM' ? 'no permission to read it'
    : errorMessage(error);
  return new ForgeError(ForgeErrorCode.IO, `cannot read ${what ? `${what} ` : ''}"${path}": ${hint}`, { cause: error, details: { path, errno: code } });
}

/** The error `unreadableFile` words for a path that exists but is not a regular file (EISDIR for a folder). */
export function notAFile(st: { isDirectory(): boolean }): Error {
  return Object.assign(new Error('not a regular file'), { code: st.isDirectory() ? 'EISDIR' : 'EINVAL' });
}

/** What identifies the file a source was opened on: a file renamed into its place, or written to, differs. */
export interface FileStamp {
  readonly dev: number;
  readonly ino: number;
  readonly mtimeMs: number;
  readonly size: number;
}

/**
 * A ByteSource over `path` of a known size (already checked to be a file). With `stamp` (its stat when
 * checked), every read first checks that the file opened is still that file: one written over since
 * (a model written back in place, to the data file its weights are read from) fails the read with
 * FORGE_EXTERNAL_DATA rather than handing out bytes from another layout.
 */
export function fileSourceOf(fs: Fs, path: string, size: number, stamp?: FileStamp): ByteSource {
  const check = (now: FileStamp) => {
    if (!stamp || (now.dev === stamp.dev && now.ino === stamp.ino && now.mtimeMs === stamp.mtimeMs && now.size === stamp.size)) return;
    const what = now.ino !== stamp.ino || now.dev !== stamp.dev ? 'replaced by another file' : now.size < stamp.size ? 'cut short' : 'written to';
    throw new ForgeError(
      ForgeErrorCode.EXTERNAL_DATA,
      `"${path}" was ${what} after the model was opened: the weights read from it would not be the model's; open the model again`,
      { details: { path, size: now.size, opened: stamp.size } },
    );
  };
  const readSync = (offset: number, length: number, into?: Uint8Array): Uint8Array => {
    checkRegion(source, offset, length);
    const buf = into && into.length >= length ? into : Buffer.allocUnsafeSlow(length);
    let fd: number | undefined;
    try {
      fd = fs.openSync(path, 'r');
      if (stamp) check(fs.fstatSync(fd));
      let got = 0;
      while (got < length) {
        const n = fs.readSync(fd, buf, got, length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      if (got < length) throw shortRead(path, offset, length, offset + got);
    } catch (e) {
      throw readFailure(e, path, offset, length);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, length);
  };
  const source: ByteSource = {
    size,
    name: path,
    readSync,
    async read(offset, length) {
      checkRegion(source, offset, length);
      const buf = Buffer.allocUnsafeSlow(length);
      let handle: Awaited<ReturnType<Fs['promises']['open']>> | undefined;
      try {
        handle = await fs.promises.open(path, 'r');
        if (stamp) check(await handle.stat());
        let got = 0;
        while (got < length) {
          const { bytesRead } = await handle.read(buf, got, length - got, offset + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        if (got < length) throw shortRead(path, offset, length, offset + got);
      } catch (e) {
        throw readFailure(e, path, offset, length);
      } finally {
        await handle?.close();
      }
      return new Uint8Array(buf.buffer, buf.byteOffset, length);
    },
  };
  return source;
}

/** What a failed read throws, in readSync and read alike: its own ForgeError (a short read) as it is, else the error as EXTERNAL_DATA. */
function readFailure(e: unknown, path: string, offset: number, length: number): ForgeError {
  if (e instanceof ForgeError) return e;
  return new ForgeError(ForgeErrorCode.EXTERNAL_DATA, `cannot read "${path}": ${errorMessage(e)}`, { cause: e, details: { path, offset, length } });
}

function shortRead(path: string, offset: number, length: number, end: number): ForgeError {
  return new ForgeError(
    ForgeErrorCode.EXTERNAL_DATA,
    `"${path}" ended at byte ${end}, inside the region [${offset}, ${offset + length}) a tensor needs: the file was cut short or replaced after the model was opened`,
    { details: { path, offset, length, end } },
  );
}
