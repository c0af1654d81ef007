/**
 * The extension's upload path (src/extension/upload/workspaceSync.ts, doSync + upload) without
 * the `vscode` parts, so the bench times exactly what a user waits for: walkWorkspace →
 * planUpload against the upload index → selectUploads (hashes only same-size candidates) →
 * uploadFiles → ListFiles (recordRemoteTimes) → new index. workspaceSync.ts imports
 * `vscode`, so its orchestration is repeated here; the decisions are the shared modules'.
 */
import { uploadFiles, walkWorkspace, type SandboxClient } from '../src/client';
import { emptyIndex, planUpload, type UploadIndex } from '../src/extension/upload/uploadIndex';
import { selectUploads } from '../src/extension/upload/uploadSelection';
import { nowMs } from './stats';

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
  const t2 = nowMs();
  const toUpload = await selectUploads(plan, files, index);
  const t3 = nowMs();
  let tUpload = t3;
  let tList = t3;
  if (plan.fresh || toUpload.length > 0) {
    if (plan.fresh || !index) index = emptyIndex((await client.createCodebase('bench-upload', 'bench')).id, folder);
    const results = await uploadFiles(client, index.codebaseId, toUpload);
    tUpload = nowMs();
    // The server's sha256 of what it stored, as the extension records it.
    toUpload.forEach((f, i) => (index!.files[f.path] = { size: f.size, mtimeMs: f.mtimeMs, sha256: results[i]!.checksum }));
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
