/**
 * The extension's upload path (src/extension/workspaceSync.ts, doSync + upload) without
 * the `vscode` parts, so the bench times exactly what a user waits for: walkWorkspace →
 * planUpload against the upload index → sha256 of each candidate → uploadFiles →
 * ListFiles (recordRemoteTimes) → new index. workspaceSync.ts imports `vscode`, so it
 * cannot be called from here; keep this in step with it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { uploadFiles, walkWorkspace, type LocalFile, type SandboxClient } from '../src/client';
import { emptyIndex, planUpload, type UploadIndex } from '../src/extension/uploadIndex';
import { nowMs } from './stats';

function sha256File(absPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(absPath)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

export interface SyncTiming {
  index: UploadIndex;
  walkedFiles: number;
  uploadedFiles: number;
  uploadedBytes: number;
  /** Milliseconds per phase, in order. */
  phases: { walk: number; plan: number; hash: number; upload: number; listFiles: number };
  totalMs: number;
}

export async function syncFolder(client: SandboxClient, folder: string, previous: UploadIndex | undefined): Promise<SyncTiming> {
  const t0 = nowMs();
  const files = await walkWorkspace(folder);
  const t1 = nowMs();
  let index = previous;
  if (index) await client.getCodebase(index.codebaseId); // the extension checks it still exists
  const plan = planUpload(index, files);
  const byPath = new Map(files.map((f) => [f.path, f]));
  const t2 = nowMs();
  const toUpload: LocalFile[] = [];
  const hashes = new Map<string, string>();
  for (const c of plan.candidates) {
    const f = byPath.get(c.path)!;
    const sha = await sha256File(f.absPath);
    hashes.set(f.path, sha);
    if (plan.fresh || index?.files[f.path]?.sha256 !== sha) toUpload.push(f);
  }
  const t3 = nowMs();
  let tUpload = t3;
  let tList = t3;
  if (plan.fresh || toUpload.length > 0) {
    if (plan.fresh || !index) index = emptyIndex((await client.createCodebase('bench-upload', 'bench')).id, folder);
    await uploadFiles(client, index.codebaseId, toUpload);
    tUpload = nowMs();
    for (const f of toUpload) index.files[f.path] = { size: f.size, mtimeMs: f.mtimeMs, sha256: hashes.get(f.path)! };
    const remote = await client.listFiles(index.codebaseId, { recursive: true });
    for (const r of remote) {
      const e = index.files[r.path];
      if (e && r.size === e.size) e.remoteMtimeMs = r.modifiedAt?.getTime();
    }
    tList = nowMs();
  }
  const uploadedBytes = toUpload.reduce((n, f) => n + f.size, 0);
  return {
    index: index!,
    walkedFiles: files.length,
    uploadedFiles: toUpload.length,
    uploadedBytes,
    phases: { walk: t1 - t0, plan: t2 - t1, hash: t3 - t2, upload: tUpload - t3, listFiles: tList - tUpload },
    totalMs: nowMs() - t0,
  };
}
