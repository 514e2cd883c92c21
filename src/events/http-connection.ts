import net from 'node:net';
import tls from 'node:tls';

// One kept-alive HTTP/1.1 connection of the webhook poster (webhook-post.ts): it sends one
// request at a time, written as one string, and reads just enough of the answer to know its
// status and where it ends (Content-Length, chunked, or the connection's close). node:http's
// client took about 150 µs of CPU per POST (its agent, header objects, streams and events);
// the dispatcher makes one per event, so this reads bytes instead.

const maxHeadBytes = 64 * 1024;
const crlf = Buffer.from('\r\n');
const blankLine = Buffer.from('\r\n\r\n');

type Waiter = { done: (error: Error | null, status: number) => void };
type Body =
  | { kind: 'none' }
  | { kind: 'length'; left: number }
  | { kind: 'chunked'; left: number; trailers: boolean }
  | { kind: 'close' };

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

export type Endpoint = {
  host: string;
  port: number;
  secure: boolean;
  servername: string;
  ca?: string | undefined;
};

export class HttpConnection {
  readonly socket: net.Socket;
  private waiter: Waiter | null = null;
  private pending: Buffer | null = null;
  private status = 0;
  private body: Body | null = null;
  private keepAlive = true;
  // Whether an answer can still come: false once the socket ended or was destroyed.
  open = true;

  constructor(
    endpoint: Endpoint,
    private readonly onIdleClose: (connection: HttpConnection) => void,
  ) {
    const { host, port, servername, ca } = endpoint;
    this.socket = endpoint.secure
      ? tls.connect({
          host,
          port,
          servername: net.isIP(servername) ? undefined : servername,
          // The system's certificates and these: `ca` alone would replace them.
          ...(ca ? { ca: [...tls.rootCertificates, ca] } : {}),
        })
      : net.connect({ host, port });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    this.socket.on('error', (error) => this.close(error));
    this.socket.on('end', () => this.close(null));
    this.socket.on('close', () => this.close(null));
  }

  // Sends one request (its head and body as one string); `done` gets the status, or why
  // there is none (the connection failed, or it ended before the answer did).
  send(request: string, done: Waiter['done']): void {
    this.waiter = { done };
    this.status = 0;
    this.body = null;
    this.socket.ref();
    this.socket.write(request);
  }

  get reusable(): boolean {
    return this.open && this.keepAlive && this.waiter === null;
  }

  destroy(error?: Error): void {
    this.socket.destroy(error);
  }

  private close(error: Error | null): void {
    if (!this.open) return;
    this.open = false;
    this.socket.destroy();
    const waiter = this.waiter;
    this.waiter = null;
    if (!waiter) {
      this.onIdleClose(this);
      return;
    }
    // An answer without a length ends with the connection.
    if (!error && this.body?.kind === 'close') waiter.done(null, this.status);
    else waiter.done(error ?? new ProtocolError('the connection closed before the answer'), 0);
  }

  private read(chunk: Buffer): void {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    try {
      while (data.length > 0 && this.waiter) {
        const used = this.body ? this.readBody(data) : this.readHead(data);
        if (used < 0) {
          this.pending = data;
          return;
        }
        data = data.subarray(used);
      }
    } catch (error) {
      this.destroy(error instanceof Error ? error : new ProtocolError(String(error)));
      return;
    }
    // Bytes nobody asked for: the connection cannot be trusted with another request.
    if (data.length > 0) this.destroy(new ProtocolError('bytes after the answer'));
  }

  // The status line and headers: the bytes used, or -1 until the blank line has come.
  private readHead(data: Buffer): number {
    const end = data.indexOf(blankLine);
    if (end < 0) {
      if (data.length > maxHeadBytes) throw new ProtocolError('the answer head is too long');
      return -1;
    }
    const lines = data.toString('latin1', 0, end).split('\r\n');
    const match = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
    if (!match) throw new ProtocolError(`not an HTTP/1.x answer: ${lines[0]?.slice(0, 40)}`);
    const status = Number(match[2]);
    // 1xx answers (100 Continue, 103 Early Hints) come before the real one.
    if (status < 200) return end + 4;
    let length: number | null = null;
    let chunked = false;
    this.keepAlive = match[1] === '1';
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line
        .slice(colon + 1)
        .trim()
        .toLowerCase();
      if (name === 'content-length') length = Number(value);
      else if (name === 'transfer-encoding') chunked = value.endsWith('chunked');
      else if (name === 'connection')
        this.keepAlive = value.includes('keep-alive') || (match[1] === '1' && value !== 'close');
    }
    if (length !== null && !(Number.isSafeInteger(length) && length >= 0))
      throw new ProtocolError('a bad Content-Length');
    this.status = status;
    if (status === 204 || status === 304) this.body = { kind: 'none' };
    else if (chunked) this.body = { kind: 'chunked', left: -1, trailers: false };
    else if (length !== null) this.body = { kind: 'length', left: length };
    else {
      this.body = { kind: 'close' };
      this.keepAlive = false;
    }
    if (this.body.kind === 'none' || (this.body.kind === 'length' && length === 0)) this.finish();
    return end + 4;
  }

  // Skips the body: the bytes used, or -1 until more have come.
  private readBody(data: Buffer): number {
    const body = this.body!;
    if (body.kind === 'close') return data.length;
    if (body.kind === 'length') {
      const used = Math.min(body.left, data.length);
      body.left -= used;
      if (body.left === 0) this.finish();
      return used;
    }
    if (body.kind !== 'chunked') return 0;
    if (body.left > 0) {
      const used = Math.min(body.left, data.length);
      body.left -= used;
      return used;
    }
    const eol = data.indexOf(crlf);
    if (eol < 0) return -1;
    const line = data.toString('latin1', 0, eol);
    if (body.trailers) {
      // Trailers end with an empty line.
      if (line === '') this.finish();
    } else if (body.left === 0) {
      // The CRLF after a chunk's data.
      body.left = -1;
    } else {
      const size = parseInt(line, 16);
      if (!Number.isSafeInteger(size) || size < 0) throw new ProtocolError('a bad chunk size');
      if (size === 0) body.trailers = true;
      // The data, then its CRLF (read as an empty line).
      else body.left = size;
    }
    return eol + 2;
  }

  private finish(): void {
    const waiter = this.waiter!;
    this.waiter = null;
    this.body = null;
    if (this.keepAlive) this.socket.unref();
    waiter.done(null, this.status);
  }
}
