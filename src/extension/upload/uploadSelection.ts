/**
 * Which local files an upload must send, and the content hashes that decide it. vscode-free,
 * so the benchmark times exactly the extension's path.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { LocalFile } from '../../client';
import type { UploadIndex, UploadPlan } from './uploadIndex';

export function sha256File(absPath: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    const stream = createReadStream(absPath, { signal });
    stream.on('data', (chunk) => hash.update(chunk));
    stream.on('error', reject);
    stream.on('end', () => resolve(hash.digest('hex')));
  });
}

export async function sha256Stream(chunks: AsyncIterable<Buffer>): Promise<string> {
  const hash = createHash('sha256');
  for await (const c of chunks) hash.update(c);
  return hash.digest('hex');
}

/**
 * A fresh codebase takes everything, and a new or resized file has surely changed: neither
 * is hashed here (the server's checksum of what it stored goes into the index). Only a file
 * with the same size and another mtime is hashed, so that a touched-but-identical file
 * (git checkout, formatter) costs no upload.
 */
export async function selectUploads(
  plan: UploadPlan,
  files: readonly LocalFile[],
  index: UploadIndex | undefined,
  signal?: AbortSignal,
): Promise<LocalFile[]> {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const toUpload: LocalFile[] = [];
  for (const c of plan.candidates) {
    const f = byPath.get(c.path)!;
    const known = plan.fresh ? undefined : index?.files[f.path];
    if (!known || known.size !== f.size) {
      toUpload.push(f);
      continue;
    }
    signal?.throwIfAborted();
    if ((await sha256File(f.absPath, signal)) !== known.sha256) toUpload.push(f);
  }
  return toUpload;
}
