/** Which local files an upload must send: the content hashes decide the ambiguous ones. */
import { sha256File } from './contentHash';
import type { UploadIndex, UploadPlan } from './uploadIndex';
import type { LocalFile } from './workspaceWalker';

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
