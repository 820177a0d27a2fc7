import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { ForgeError, ForgeErrorCode, isForgeError } from '@onnx-forge/core';

/**
 * The HTTP status an error answers with. A ForgeError may carry it (`details.status`, set where the
 * server knows it: 404 for an unknown model); otherwise the code decides, so errors from the runtime
 * and hybrid layers map the same way everywhere.
 */
export function statusOf(error: unknown): number {
  if (isForgeError(error)) {
    const s = error.details.status;
    if (typeof s === 'number' && s >= 400 && s < 600) return s;
    switch (error.code) {
      case ForgeErrorCode.BAD_INPUT:
      case ForgeErrorCode.INVALID_OPTIONS:
        return 400;
      // Back-pressure and shutdown: the client may retry elsewhere or later.
      case ForgeErrorCode.OVERLOADED:
      case ForgeErrorCode.NOT_READY:
      case ForgeErrorCode.CANCELLED:
        return 503;
      case ForgeErrorCode.TIMEOUT:
        return 504;
      default:
        return 500;
    }
  }
  const s = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' && s >= 400 && s < 600 ? s : 500;
}

/** A ForgeError that answers with `status`. */
export function httpError(status: number, code: ForgeErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown): ForgeError {
  return new ForgeError(code, message, { details: { ...details, status }, ...(cause === undefined ? {} : { cause }) });
}

export function badRequest(message: string, details: Record<string, unknown> = {}): ForgeError {
  return httpError(400, ForgeErrorCode.BAD_INPUT, message, details);
}

export function notFound(message: string, details: Record<string, unknown> = {}): ForgeError {
  return httpError(404, ForgeErrorCode.BAD_INPUT, message, details);
}

/**
 * 503: the server or a model does not take requests now. The code says why: FORGE_OVERLOADED (the
 * default) past the limits; FORGE_NOT_READY while a model loads, unloads or is unloaded;
 * FORGE_CANCELLED while the server stops; a model that failed to load, the load error's own code
 * (FORGE_INVALID_MODEL, FORGE_RUNTIME...).
 */
export function unavailable(message: string, details: Record<string, unknown> = {}, code: ForgeErrorCode = ForgeErrorCode.OVERLOADED): ForgeError {
  return httpError(503, code, message, details);
}

/**
 * The stable code an error body carries beside its message (`{"error": ..., "code": ...}`), so that a
 * client can branch without parsing text: a ForgeError's own code; for anything else (Fastify's own
 * refusals, such as a body over the limit) FORGE_BAD_INPUT when the status blames the request and
 * FORGE_INTERNAL when it does not.
 */
export function errorCode(error: unknown, status: number): ForgeErrorCode {
  if (isForgeError(error)) return error.code;
  return status < 500 ? ForgeErrorCode.BAD_INPUT : ForgeErrorCode.INTERNAL;
}

/**
 * Answers a request Node's HTTP parser refused (Fastify's clientErrorHandler) as every error is
 * answered, {"error", "code"}, then closes the connection, which cannot be read further.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] =
    error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'the request line and headers are larger than the server takes (16 KiB); a model name or version that long cannot be served']
    : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'the request did not arrive in time']
    : [400, `malformed HTTP request (${error.code ?? 'parse error'})`];
  if (socket.writable) {
    const body = JSON.stringify({ error: message, code: ForgeErrorCode.BAD_INPUT });
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}
