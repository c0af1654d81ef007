/**
 * A sandbox's egress proxy: the only way out of its network namespace. Listens on a Unix
 * socket bound into the sandbox (the forwarder inside relays 127.0.0.1:PORT to it) and speaks
 * what the tools in the sandbox speak: HTTP (absolute-form requests and `CONNECT` for TLS,
 * which it never intercepts) and SOCKS5 (CONNECT, names resolved here). It resolves each name
 * once, decides with the sandbox's NetworkPolicy, and connects to the address it checked,
 * so a name cannot change its answer in between. A refusal answers the client with the
 * reason (HTTP 403 with `X-AgentFense-Refused`; a SOCKS "not allowed by ruleset") and is
 * reported to the owner. Everything is asynchronous socket I/O: no connection waits on
 * another, and none blocks the server.
 */
import * as net from 'node:net';
import { decide, type NetworkPolicy, type Verdict } from '../../shared/networkPolicy';

export interface RefusedConnection {
  host: string;
  port: number;
  reason: string;
  /** The destination rule that decided, if one did. */
  rule?: string;
  protocol: 'http' | 'connect' | 'socks5';
  time: number;
}

export interface Resolution {
  address: string;
  /** The test resolver's stand-in for a public address (see EgressResolver). */
  publicAddress?: boolean;
}

export interface EgressProxyOptions {
  socketPath: string;
  policy: NetworkPolicy;
  resolve: (host: string) => Promise<Resolution>;
  onRefused?: (r: RefusedConnection) => void;
  /** Connections open at once; more are refused (a sandbox cannot exhaust the server's descriptors). */
  maxConnections?: number;
}

/** A request head larger than this is not one a tool sends. */
const MAX_HEAD = 64 * 1024;
/** A client that says nothing this long is dropped. */
const HEAD_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 30_000;
/** Bytes a relayed stream buffers before it waits: large, so a download is a few big writes, not many small ones. */
const RELAY_BUFFER = 1024 * 1024;

export class EgressProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly o: EgressProxyOptions) {
    this.server = net.createServer({ allowHalfOpen: true, highWaterMark: RELAY_BUFFER }, (s) => this.accept(s));
    this.server.maxConnections = o.maxConnections ?? 512;
  }

  static async listen(o: EgressProxyOptions): Promise<EgressProxy> {
    const proxy = new EgressProxy(o);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(o.socketPath, () => {
        proxy.server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => s.destroy());
  }

  private accept(client: net.Socket): void {
    this.track(client);
    client.setTimeout(HEAD_TIMEOUT_MS, () => client.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head[0] === 0x05) {
        client.off('data', onData);
        client.pause();
        void this.socks5(client, head);
        return;
      }
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD) this.httpError(client, 431, 'request head too large');
        return;
      }
      client.off('data', onData);
      client.pause();
      void this.http(client, head.subarray(0, end + 4).toString('latin1'), head.subarray(end + 4));
    };
    client.on('data', onData);
  }

  private async verdict(host: string, port: number): Promise<Verdict> {
    const literal = net.isIP(host.replace(/^\[|\]$/g, '')) ? host.replace(/^\[|\]$/g, '') : undefined;
    let resolution: Resolution;
    try {
      resolution = literal ? { address: literal } : await this.o.resolve(host);
    } catch (e) {
      return { allowed: false, reason: `cannot resolve ${host}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` };
    }
    return decide(this.o.policy, host, port, resolution.address, { publicAddress: resolution.publicAddress });
  }

  private refused(
    host: string,
    port: number,
    v: Extract<Verdict, { allowed: false }>,
    protocol: RefusedConnection['protocol'],
  ) {
    this.o.onRefused?.({
      host,
      port,
      reason: v.reason,
      ...(v.rule ? { rule: v.rule.text } : {}),
      protocol,
      time: Date.now() / 1000,
    });
  }

  private async http(client: net.Socket, head: string, rest: Buffer): Promise<void> {
    const [requestLine = '', ...headerLines] = head.split('\r\n');
    const m = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/.exec(requestLine);
    if (!m) return this.httpError(client, 400, 'not an HTTP proxy request');
    const [, method, target, version] = m as unknown as [string, string, string, string];
    let host: string;
    let port: number;
    let path = '';
    if (method === 'CONNECT') {
      const t = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
      if (!t) return this.httpError(client, 400, `CONNECT needs host:port, got ${target}`);
      host = t[1]!;
      port = Number(t[2]);
    } else {
      let url: URL;
      try {
        url = new URL(target);
      } catch {
        return this.httpError(client, 400, 'a proxy request needs an absolute URL (http://host/path)');
      }
      if (url.protocol !== 'http:')
        return this.httpError(
          client,
          400,
          `only http:// is forwarded as a request; ${url.protocol} goes through CONNECT`,
        );
      host = url.hostname;
      port = Number(url.port || 80);
      path = `${url.pathname}${url.search}`;
    }
    if (!(port >= 1 && port <= 65535)) return this.httpError(client, 400, `bad port ${port}`);
    const v = await this.verdict(host, port);
    if (!v.allowed) {
      this.refused(host, port, v, method === 'CONNECT' ? 'connect' : 'http');
      return this.httpError(client, 403, v.reason);
    }
    const upstream = await this.connect(v.address, port);
    if (upstream instanceof Error)
      return this.httpError(client, 502, `cannot connect to ${host}:${port}: ${upstream.message}`);
    client.setTimeout(0);
    if (method === 'CONNECT') {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    } else {
      // One request per connection: the next may be for another host, which needs its own verdict.
      const headers = headerLines.filter(
        (l) => l !== '' && !/^(proxy-connection|proxy-authorization|connection|keep-alive)\s*:/i.test(l),
      );
      upstream.write(
        `${method} ${path || '/'} ${version}\r\n${[...headers, 'Connection: close'].join('\r\n')}\r\n\r\n`,
        'latin1',
      );
    }
    this.pipe(client, upstream, rest);
  }

  private async socks5(client: net.Socket, first: Buffer): Promise<void> {
    const reader = new ByteReader(client, first);
    const reply = (code: number) => Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
    try {
      const [, methodCount] = await reader.take(2);
      const methods = await reader.take(methodCount!);
      if (!methods.includes(0)) {
        client.end(Buffer.from([5, 0xff]));
        return;
      }
      client.write(Buffer.from([5, 0]));
      const [version, command, , addressType] = await reader.take(4);
      if (version !== 5) throw new Error('not SOCKS5');
      let host: string;
      if (addressType === 1) host = [...(await reader.take(4))].join('.');
      else if (addressType === 3) host = (await reader.take((await reader.take(1))[0]!)).toString('latin1');
      else if (addressType === 4) {
        const b = await reader.take(16);
        host = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2).toString(16)).join(':');
      } else throw new Error('bad address type');
      const port = (await reader.take(2)).readUInt16BE(0);
      if (command !== 1) {
        client.end(reply(7)); // only CONNECT: no BIND, no UDP
        return;
      }
      const v = await this.verdict(host, port);
      if (!v.allowed) {
        this.refused(host, port, v, 'socks5');
        client.end(reply(2)); // connection not allowed by ruleset
        return;
      }
      const upstream = await this.connect(v.address, port);
      if (upstream instanceof Error) {
        client.end(reply(5));
        return;
      }
      client.setTimeout(0);
      client.write(reply(0));
      this.pipe(client, upstream, reader.rest());
    } catch {
      client.destroy();
    }
  }

  private connect(address: string, port: number): Promise<net.Socket | Error> {
    return new Promise((resolve) => {
      const upstream = net.connect({ host: address, port, allowHalfOpen: true });
      this.track(upstream);
      const timer = setTimeout(() => {
        upstream.destroy();
        resolve(new Error('timed out'));
      }, CONNECT_TIMEOUT_MS);
      upstream.once('connect', () => {
        clearTimeout(timer);
        resolve(upstream);
      });
      upstream.once('error', (e) => {
        clearTimeout(timer);
        resolve(e);
      });
    });
  }

  private pipe(client: net.Socket, upstream: net.Socket, early: Buffer): void {
    if (early.length > 0) upstream.write(early);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
  }

  private httpError(client: net.Socket, status: number, reason: string): void {
    const text = STATUS_TEXT[status] ?? 'Error';
    // The reason is ours (a policy's words, a host name the client sent): one header line, no CR/LF.
    const header = reason.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '?');
    const body = `AgentFense: ${header}\n`;
    client.end(
      `HTTP/1.1 ${status} ${text}\r\nX-AgentFense-Refused: ${header}\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  431: 'Request Header Fields Too Large',
  502: 'Bad Gateway',
};

/** Exact-length reads from a paused socket, for the SOCKS5 handshake. */
class ByteReader {
  private buffered: Buffer;

  constructor(
    private readonly socket: net.Socket,
    first: Buffer,
  ) {
    this.buffered = first;
  }

  async take(n: number): Promise<Buffer> {
    while (this.buffered.length < n) {
      const chunk = await new Promise<Buffer>((resolve, reject) => {
        const onData = (c: Buffer) => {
          cleanup();
          resolve(c);
        };
        const onEnd = () => {
          cleanup();
          reject(new Error('closed'));
        };
        const cleanup = () => {
          this.socket.off('data', onData);
          this.socket.off('end', onEnd);
          this.socket.off('close', onEnd);
          this.socket.pause();
        };
        this.socket.on('data', onData);
        this.socket.once('end', onEnd);
        this.socket.once('close', onEnd);
        this.socket.resume();
      });
      this.buffered = Buffer.concat([this.buffered, chunk]);
      if (this.buffered.length > MAX_HEAD) throw new Error('too much');
    }
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  rest(): Buffer {
    return this.buffered;
  }
}
