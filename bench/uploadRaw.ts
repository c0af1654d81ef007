/**
 * Uploads a workspace over the raw UploadFiles RPC (one call per file, a fixed number in
 * flight). Used to set up fixtures; the upload scenario measures the client library's own
 * path instead, because that is what users wait for.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Rpc } from './rpc';
import type { SyntheticFile, SyntheticWorkspace } from './synthetic';

export async function uploadFilesRaw(
  rpc: Rpc,
  codebaseId: string,
  root: string,
  files: readonly SyntheticFile[],
  concurrency: number,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++]!;
      const content = await readFile(join(root, file.path));
      await rpc.uploadFile(codebaseId, file.path, content);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
}

export function uploadWorkspaceRaw(
  rpc: Rpc,
  codebaseId: string,
  ws: SyntheticWorkspace,
  concurrency: number,
): Promise<void> {
  return uploadFilesRaw(rpc, codebaseId, ws.root, ws.files, concurrency);
}
