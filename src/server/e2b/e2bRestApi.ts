/**
 * E2B's REST API, the part the SDK uses for a sandbox's life: create, get, list, kill, set the
 * timeout, pause, connect/resume (v1 and v2 paths alike). Bodies are JSON (at most 1 MiB);
 * errors are E2B's `{ code, message }`. Any other call answers 501 naming it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { E2bError } from './e2bError';
import type { CreateBody, E2bSandboxes } from './e2bSandboxes';

const MAX_BODY_BYTES = 1024 * 1024;
/** How much of an oversized body is read (and dropped) before answering 413. */
const DRAIN_BYTES = 64 * 1024 * 1024;

type Route = (m: RegExpExecArray, body: () => Promise<Record<string, unknown>>, url: URL) => Promise<unknown>;

/** What a route answers: a JSON body (200/201), or nothing (204). */
interface Answer {
  status: number;
  json?: unknown;
}

export function e2bRestApi(
  sandboxes: E2bSandboxes,
): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  const routes: [method: string, path: RegExp, route: Route][] = [
    [
      'POST',
      /^\/(?:v2\/)?sandboxes$/,
      async (_m, body) => created(await sandboxes.create((await body()) as CreateBody)),
    ],
    ['GET', /^\/(?:v2\/)?sandboxes$/, async (_m, _b, url) => ok(sandboxes.list(listFilter(url)))],
    ['GET', /^\/sandboxes\/([^/]+)$/, async (m) => ok(sandboxes.info(m[1]!))],
    ['DELETE', /^\/sandboxes\/([^/]+)$/, async (m) => none(await sandboxes.kill(m[1]!))],
    [
      'POST',
      /^\/sandboxes\/([^/]+)\/timeout$/,
      async (m, body) => none(sandboxes.setTimeout(m[1]!, (await body()).timeout)),
    ],
    ['POST', /^\/sandboxes\/([^/]+)\/pause$/, async (m) => none(await sandboxes.pause(m[1]!))],
    [
      'POST',
      /^\/(?:v2\/)?sandboxes\/([^/]+)\/(?:connect|resume)$/,
      async (m, body) => created(await sandboxes.connect(m[1]!, (await body()).timeout)),
    ],
  ];
  return async (req, res, url) => {
    for (const [method, pattern, route] of routes) {
      const m = pattern.exec(url.pathname);
      if (!m || req.method !== method) continue;
      const answer = (await route(m, () => readJson(req), url)) as Answer;
      if (answer.json === undefined) return void res.writeHead(answer.status).end();
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.json));
      return;
    }
    throw new E2bError(501, `${req.method} ${url.pathname} is not implemented by this server`);
  };
}

const ok = (json: unknown): Answer => ({ status: 200, json });
const created = (json: unknown): Answer => ({ status: 201, json });
const none = (_done: unknown): Answer => ({ status: 204 });

/** `?state=running,paused&metadata=k%3Dv%26k2%3Dv2` (the SDK's encoding). */
function listFilter(url: URL): { state?: string[]; metadata?: Record<string, string> } {
  const state = url.searchParams
    .getAll('state')
    .flatMap((s) => s.split(','))
    .filter(Boolean);
  const metadataText = url.searchParams.get('metadata');
  const metadata = metadataText ? Object.fromEntries(new URLSearchParams(metadataText)) : undefined;
  return { ...(state.length ? { state } : {}), ...(metadata ? { metadata } : {}) };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  // An oversized body is read to its end (up to a bound) before the answer: a client still
  // sending when the connection closes would see a reset instead of the 413.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    else if (size > DRAIN_BYTES) break;
  }
  if (size > MAX_BODY_BYTES) throw new E2bError(413, `the request body is larger than ${MAX_BODY_BYTES} bytes`);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  try {
    const v: unknown = JSON.parse(text);
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new E2bError(400, `the request body is not a JSON object: ${(err as Error).message}`);
  }
}
