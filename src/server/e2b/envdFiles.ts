/**
 * envd's HTTP file API in a sandbox: `GET /files?path=` answers the file's bytes, `POST /files`
 * (multipart/form-data, one `file` part per file, its name the path unless `?path=` is given)
 * writes them through a shell in the sandbox (sandboxShell.ts) and answers what it wrote: one file
 * with `cat`, many as one tar stream extracted by `tar` (one command, not one per file). The
 * multipart body is parsed by Node's own fetch Request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { posix } from 'node:path';
import { pack } from 'tar-stream';
import type { LiveSandbox } from '../sandbox/liveSandbox';
import { shellQuote } from '../../shared/shellQuote';
import { E2bError } from './e2bError';
import { fileErrorStatus, runInSandbox, sandboxPath } from './sandboxShell';

/** A file upload larger than this is refused (it is held in memory on its way in). */
const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;

export async function readFile(live: LiveSandbox, url: URL, res: ServerResponse): Promise<void> {
  const path = sandboxPath(url.searchParams.get('path') ?? '');
  const r = await runInSandbox(live, `cat -- ${shellQuote(path)}`);
  if (r.exitCode !== 0) {
    const said = r.stderr.toString('utf8').trim();
    throw new E2bError(fileErrorStatus(said), said || `cannot read ${path}`);
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': r.stdout.length });
  res.end(r.stdout);
}

export async function writeFiles(
  live: LiveSandbox,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > MAX_UPLOAD_BYTES) throw new E2bError(413, `uploads are limited to ${MAX_UPLOAD_BYTES} bytes`);
  const contentType = req.headers['content-type'] ?? '';
  if (!contentType.startsWith('multipart/form-data'))
    throw new E2bError(400, `POST /files takes multipart/form-data; got ${JSON.stringify(contentType)}`);
  let form: FormData;
  try {
    form = await new Request(url, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: Readable.toWeb(req) as ReadableStream<Uint8Array>,
      duplex: 'half',
    } as RequestInit).formData();
  } catch (err) {
    throw new E2bError(400, `the upload is not valid multipart/form-data: ${(err as Error).message}`);
  }
  const given = url.searchParams.get('path');
  const files: { path: string; content: Buffer }[] = [];
  for (const [, value] of form.entries()) {
    if (typeof value === 'string') continue;
    files.push({ path: sandboxPath(given ?? value.name), content: Buffer.from(await value.arrayBuffer()) });
  }
  if (files.length === 0) throw new E2bError(400, 'the upload has no file part');
  const r =
    files.length === 1
      ? await runInSandbox(
          live,
          `mkdir -p -- ${shellQuote(posix.dirname(files[0]!.path))} && cat > ${shellQuote(files[0]!.path)}`,
          { stdin: files[0]!.content },
        )
      : await runInSandbox(live, 'tar -x -f - -C / --no-same-owner --no-same-permissions', { stdin: tarOf(files) });
  if (r.exitCode !== 0) {
    const said = r.stderr.toString('utf8').trim();
    throw new E2bError(fileErrorStatus(said), said || `cannot write ${files.map((f) => f.path).join(', ')}`);
  }
  const written = files.map((f) => ({ name: posix.basename(f.path), type: 'file' as const, path: f.path }));
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(written));
}

/** The files as a tar stream, paths relative to / (tar extracts them there, as the sandbox user). */
function tarOf(files: readonly { path: string; content: Buffer }[]): Readable {
  const archive = pack();
  for (const f of files) archive.entry({ name: f.path.slice(1), size: f.content.length, mode: 0o644 }, f.content);
  archive.finalize();
  return Readable.from(archive);
}
