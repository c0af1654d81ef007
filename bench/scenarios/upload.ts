/**
 * 5. Upload of a 10 000-file / 100 MB workspace through the extension's own path (client
 * library + upload index, see workspaceSyncPath.ts): the first upload, then an unchanged
 * re-upload (walk + index comparison: nothing to send). Its own workspace with its own
 * seed, so the server's content store has none of these blobs yet.
 */
import { SandboxClient } from '../../src/client';
import type { Scenario } from '../scenario';
import { goals, row } from '../report';
import { generateWorkspace } from '../synthetic';
import { syncFolder } from '../workspaceSyncPath';

export const upload: Scenario = {
  name: 'upload',
  title: '5 upload',
  async run(ctx) {
    const server = await ctx.server();
    const { uploadFiles: fileCount, uploadBytes } = ctx.sizes;
    ctx.log(`generating a ${fileCount}-file / ${(uploadBytes / 2 ** 20).toFixed(0)} MB workspace`);
    const ws = generateWorkspace(ctx.path('upload-workspace'), { fileCount, totalBytes: uploadBytes, seed: ctx.seed + 100 });
    const client = new SandboxClient({ endpoint: `unix:${server.socketPath}` });
    try {
      const first = await syncFolder(client, ws.root, undefined);
      const unchanged = await syncFolder(client, ws.root, first.index);
      if (unchanged.uploadedFiles !== 0) throw new Error(`unchanged re-upload sent ${unchanged.uploadedFiles} files`);
      const listed = (await client.listFiles(first.index.codebaseId, { recursive: true })).filter((f) => !f.isDir).length;
      if (listed !== first.uploadedFiles) throw new Error(`codebase lists ${listed} files after uploading ${first.uploadedFiles}`);

      const mb = first.uploadedBytes / 2 ** 20;
      const s = first.totalMs / 1000;
      const phases = (p: typeof first.phases) => Object.entries(p).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
      return {
        rows: [
          row({ scenario: 'upload', metric: `first upload, ${first.uploadedFiles} files / ${mb.toFixed(0)} MB`, value: s, unit: 's', goal: goals.atMost(3, 's', s), note: `ms: ${phases(first.phases)}` }),
          row({ scenario: 'upload', metric: 'first upload files/s', value: first.uploadedFiles / s, unit: 'files/s' }),
          row({ scenario: 'upload', metric: 'first upload MB/s', value: mb / s, unit: 'MB/s' }),
          row({ scenario: 'upload', metric: 'unchanged re-upload (walk + index compare)', value: unchanged.totalMs / 1000, unit: 's', goal: goals.atMost(0.3, 's', unchanged.totalMs / 1000), note: `ms: ${phases(unchanged.phases)}` }),
        ],
        details: {
          generated: { files: ws.files.length, bytes: ws.totalBytes, note: 'walkWorkspace leaves out .git/ and .env as the extension does' },
          first: { ...first, index: undefined },
          unchanged: { ...unchanged, index: undefined },
        },
      };
    } finally {
      client.close();
    }
  },
};
