/**
 * The E2B front: E2B's REST API (`/sandboxes…`, `/v2/sandboxes…`, guarded by `X-API-Key`) and
 * envd's API inside each sandbox (`/files`, `/health`, and the Connect services
 * `process.Process` and `filesystem.Filesystem`, routed by the `E2b-Sandbox-Id` header and
 * guarded by the sandbox's `X-Access-Token`) on one HTTP listener, over this server's
 * sandboxes. Point the official SDK at it with E2B_API_URL and E2B_SANDBOX_URL (both this
 * address) and E2B_API_KEY. What it does not implement answers 501 / `unimplemented` naming the call.
 * Off unless the server is started with `--e2b-listen HOST:PORT --e2b-key-file FILE`.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { secretMatches } from '../secretMatches';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { HandlerContext } from '@connectrpc/connect';
import { Process } from '../../generated/envd/e2b/envd/process/process_pb';
import { Filesystem } from '../../generated/envd/e2b/envd/filesystem/filesystem_pb';
import type { Logger } from '../logger';
import { E2bError } from './e2bError';
import type { E2bSandboxes } from './e2bSandboxes';
import { toE2bError } from './connectErrors';
import { ProcessTable, type SandboxOfCall } from './envdProcess';
import { filesystemService } from './envdFilesystem';
import { readFile, writeFiles } from './envdFiles';
import { e2bRestApi } from './e2bRestApi';

export interface E2bFrontOptions {
  /** HOST:PORT. */
  listen: string;
  apiKey: string;
  sandboxes: E2bSandboxes;
  log: Logger;
}

export interface E2bFront {
  /** `http://host:port`, what E2B_API_URL and E2B_SANDBOX_URL are set to. */
  url: string;
  close(): Promise<void>;
}

const SANDBOX_HEADER = 'e2b-sandbox-id';
const TOKEN_HEADER = 'x-access-token';

export async function startE2bFront(o: E2bFrontOptions): Promise<E2bFront> {
  const sandboxOf: SandboxOfCall = (ctx: HandlerContext) => {
    const sandboxId = ctx.requestHeader.get(SANDBOX_HEADER) ?? '';
    const found = o.sandboxes.forEnvd(sandboxId, ctx.requestHeader.get(TOKEN_HEADER) ?? undefined);
    checkUser(basicAuthUser(ctx.requestHeader.get('authorization')));
    return { sandboxId, ...found };
  };
  const processes = new ProcessTable(sandboxOf);
  const envdRpc = connectNodeAdapter({
    routes: (router) => {
      router.service(Process, processes.service());
      router.service(Filesystem, filesystemService(sandboxOf));
    },
  });
  const rest = e2bRestApi(o.sandboxes);

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://e2b.local');
    const path = url.pathname;
    if (path.startsWith('/process.Process/') || path.startsWith('/filesystem.Filesystem/')) return envdRpc(req, res);
    const sandboxId = header(req, SANDBOX_HEADER);
    const answer = async () => {
      if (sandboxId !== undefined && (path === '/files' || path === '/health')) {
        if (path === '/health') return void res.writeHead(204).end();
        const { live } = o.sandboxes.forEnvd(sandboxId, header(req, TOKEN_HEADER));
        checkUser(url.searchParams.get('username') ?? undefined);
        if (req.method === 'GET') return readFile(live, url, res);
        if (req.method === 'POST') return writeFiles(live, url, req, res);
        throw new E2bError(405, `${req.method} /files is not supported`);
      }
      if (!secretMatches(header(req, 'x-api-key') ?? '', o.apiKey)) throw new E2bError(401, 'Invalid API key');
      await rest(req, res, url);
    };
    answer().catch((err: unknown) => {
      const e = toE2bError(err);
      if (e.status >= 500) o.log.warn('e2b front request failed', { method: req.method, path, error: e.message });
      if (res.headersSent) return void res.destroy();
      res.writeHead(e.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: e.status, message: e.message }));
    });
  });
  const [host, portText] = splitHostPort(o.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(portText), host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  o.log.info('e2b front listening', { url });
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * envd runs a call as the user it names (E2B's `user` option: `user` or `root`). Here every
 * command runs as the one unprivileged sandbox user: asking for another is refused, never
 * quietly run as someone else.
 */
function checkUser(user: string | undefined): void {
  if (user && user !== 'user')
    throw new E2bError(
      403,
      `user ${JSON.stringify(user)} is not available: this server runs every sandbox command as one unprivileged user ("user")`,
    );
}

/** The user of `Authorization: Basic base64(user:)`, as the SDK sends it. */
function basicAuthUser(authorization: string | null): string | undefined {
  const m = /^Basic\s+(\S+)$/.exec(authorization ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  return decoded.slice(0, decoded.indexOf(':') >= 0 ? decoded.indexOf(':') : undefined);
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `HOST:PORT` or `[v6]:PORT`. */
export function splitHostPort(listen: string): [string, string] {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(listen) ?? /^([^:]+):(\d+)$/.exec(listen);
  if (!m || Number(m[2]) > 65535) throw new Error(`--e2b-listen takes HOST:PORT; got ${JSON.stringify(listen)}`);
  return [m[1]!, m[2]!];
}
