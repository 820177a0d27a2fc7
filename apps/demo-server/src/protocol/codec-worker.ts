// A codec worker (see CodecPool): decodes large JSON infer requests and encodes large JSON responses
// off the server's event loop, with the very functions the server runs inline for small ones.
import { parentPort } from 'node:worker_threads';
import { type CodecJob, type CodecReply, ownBuffers, toWireError } from './codec-messages.js';
import { decodeInferBody } from './decode-infer-request.js';
import { encodeInferResponse } from './encode-infer-response.js';

const port = parentPort;
if (!port) throw new Error('codec-worker runs as a worker thread (CodecPool starts it)');

port.on('message', ({ id, job }: { id: number; job: CodecJob }) => {
  let reply: CodecReply;
  let transfer: ArrayBuffer[] = [];
  try {
    if (job.kind === 'decode') {
      const body = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength);
      const decoded = decodeInferBody(body.subarray(0, job.jsonLength), body.subarray(job.jsonLength), job.binaryHeaderMissing, job.spec);
      reply = { id, ok: true, decoded };
      transfer = ownBuffers(Object.values(decoded.feeds));
    } else {
      const encoded = encodeInferResponse(job.model, job.id, job.results, job.outputs);
      const body = typeof encoded.body === 'string' ? Buffer.from(encoded.body, 'utf8') : encoded.body;
      reply = { id, ok: true, encoded: { body, headerLength: encoded.headerLength } };
      // A large body has its own buffer (Buffer.from and Buffer.concat pool only small ones).
      if (body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer) transfer = [body.buffer];
    }
  } catch (e) {
    reply = { id, ok: false, error: toWireError(e) };
  }
  try {
    port.postMessage(reply, transfer);
  } catch (e) {
    // Details that cannot be cloned (never expected): the error still arrives, with its message.
    port.postMessage({ id, ok: false, error: toWireError(e) } satisfies CodecReply);
  }
});
