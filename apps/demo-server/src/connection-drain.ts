import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

/**
 * The connections of an HTTP server and the requests on each, for a shutdown that resets no client.
 *
 * Node's `http.Server.close()` (which `fastify.close()` calls) first runs `closeIdleConnections()`: it
 * destroys every keep-alive connection with no request being parsed or answered. A client that has
 * just sent its next request on such a connection, before the server read it, then gets a reset
 * (ECONNRESET, undici's UND_ERR_SOCKET) instead of an answer: closing a socket with unread data sends
 * RST. So the server first stops listening without that, gives idle connections `idleMs` to send
 * a request (answered 503 with `connection: close`, see create-server), and tells the client of every
 * response given meanwhile that the connection ends with it; only then does `fastify.close()` close
 * what is left idle.
 */
export class ConnectionDrain {
  private readonly connections = new Set<Socket>();
  /** Requests received on a connection and not yet answered (more than one when pipelined). */
  private readonly pending = new WeakMap<Socket, number>();
  private onEmpty: (() => void) | undefined;

  constructor(private readonly server: Server) {
    server.on('connection', (socket: Socket) => {
      this.connections.add(socket);
      socket.once('close', () => {
        this.connections.delete(socket);
        if (this.connections.size === 0) this.onEmpty?.();
      });
    });
    // Before Fastify's own listener, so that the count includes this request when its hooks run.
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket;
      this.pending.set(socket, (this.pending.get(socket) ?? 0) + 1);
      res.once('close', () => this.pending.set(socket, Math.max(0, (this.pending.get(socket) ?? 1) - 1)));
    });
  }

  /** Open connections. */
  get size(): number {
    return this.connections.size;
  }

  /**
   * Whether another request waits on this connection behind the one being answered (pipelined): the
   * response must then keep the connection open, or that request would go unanswered.
   */
  queuedBehind(socket: Socket): boolean {
    return (this.pending.get(socket) ?? 0) > 1;
  }

  /**
   * Stops accepting connections (without closing idle ones), then waits until every open connection
   * has closed, or `idleMs`. Resolves after a poll phase of the event loop: what clients sent before
   * the wait ended has been read by then, so a connection whose next request has begun to arrive is no
   * longer idle, and `closeIdleConnections()` leaves it to be answered.
   */
  async drain(idleMs: number): Promise<void> {
    // net.Server's close, not http.Server's: the latter would close the idle connections now.
    if (this.server.listening) NetServer.prototype.close.call(this.server);
    if (this.connections.size > 0 && idleMs > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.onEmpty = undefined;
          resolve();
        };
        const timer = setTimeout(done, idleMs);
        this.onEmpty = done;
      });
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Reads and drops a request's body, up to `limit` bytes, and resolves when it has ended (or the
 * client went away). An answer sent before the body is read closes the connection under a client
 * still sending it: the server's socket closes with unread data, which resets the connection, and the
 * client (curl uploading a large body) sees "Connection reset by peer" instead of the answer.
 */
export function drainBody(req: IncomingMessage, limit: number): Promise<void> {
  if (req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let read = 0;
    const done = () => {
      req.off('data', onData);
      req.off('end', done);
      req.off('close', done);
      req.off('error', done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      read += chunk.length;
      // Past the body limit: a client that sends that much gets the answer now, as it would a 413.
      if (read > limit) {
        req.pause();
        done();
      }
    };
    req.on('data', onData);
    req.once('end', done);
    req.once('close', done);
    req.once('error', done);
  });
}
