/**
 * 5. Upload of a 10 000-file / 100 MB workspace: the first upload, then an unchanged
 * re-upload (walk + comparison with the index of the last upload, as the extension does:
 * nothing to send). Its own workspace with its own seed, so the server's content store
 * has none of these blobs yet and the first upload is really first.
 */
import type { Scenario } from '../scenario';
import { goals, row } from '../report';
import { nowMs } from '../stats';
import { generateWorkspace } from '../synthetic';
import { uploadFilesRaw } from '../uploadRaw';
import { buildIndex, changedSince, walkStat } from '../localIndex';

export const upload: Scenario = {
  name: 'upload',
  title: '5 upload',
  async run(ctx) {
    const { rpc } = await ctx.server();
    const { uploadFiles: fileCount, uploadBytes, uploadConcurrency } = ctx.sizes;
    ctx.log(`generating a ${fileCount}-file / ${(uploadBytes / 2 ** 20).toFixed(0)} MB workspace`);
    const ws = generateWorkspace(ctx.path('upload-workspace'), { fileCount, totalBytes: uploadBytes, seed: ctx.seed + 100 });
    const codebase = await rpc.createCodebase('bench-upload');

    // First upload: walk, then send every file.
    const t0 = nowMs();
    const walked = await walkStat(ws.root);
    await uploadFilesRaw(rpc, codebase.id, ws.root, walked, uploadConcurrency);
    const firstMs = nowMs() - t0;
    const index = buildIndex(walked);

    // Unchanged re-upload: walk, compare with the index, send what differs (nothing).
    const t1 = nowMs();
    const again = await walkStat(ws.root);
    const changed = changedSince(index, again);
    await uploadFilesRaw(rpc, codebase.id, ws.root, changed, uploadConcurrency);
    const unchangedMs = nowMs() - t1;
    if (changed.length !== 0) throw new Error(`unchanged re-upload found ${changed.length} changed files`);

    const mb = ws.totalBytes / 2 ** 20;
    const server = await rpc.listFiles(codebase.id, '', true);
    const serverFiles = server.filter((f) => !f.isDir).length;
    if (serverFiles !== ws.files.length) throw new Error(`codebase has ${serverFiles} files after upload, expected ${ws.files.length}`);
    return {
      rows: [
        row({ scenario: 'upload', metric: `first upload, ${ws.files.length} files / ${mb.toFixed(0)} MB`, value: firstMs / 1000, unit: 's', goal: goals.atMost(3, 's', firstMs / 1000) }),
        row({ scenario: 'upload', metric: 'first upload files/s', value: (ws.files.length / firstMs) * 1000, unit: 'files/s' }),
        row({ scenario: 'upload', metric: 'first upload MB/s', value: (mb / firstMs) * 1000, unit: 'MB/s' }),
        row({ scenario: 'upload', metric: 'unchanged re-upload (walk + index compare)', value: unchangedMs / 1000, unit: 's', goal: goals.atMost(0.3, 's', unchangedMs / 1000) }),
      ],
      details: { files: ws.files.length, bytes: ws.totalBytes, concurrency: uploadConcurrency, firstMs, unchangedMs, path: 'raw UploadFiles RPC + bench-side index (bench/localIndex.ts)' },
    };
  },
};
