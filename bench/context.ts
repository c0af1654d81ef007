/**
 * What every scenario gets: the sizes, a temp dir, one server process started for the
 * run, and the shared 10 000-file codebase (generated and uploaded once, on first use).
 */
import { copyFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type BenchServer } from './server';
import { generateWorkspace, writeSizedFile, type SyntheticWorkspace } from './synthetic';
import { uploadWorkspaceRaw } from './uploadRaw';
import type { Sizes } from './sizes';

/** Codebase paths of the fixed files the shared codebase carries besides the synthetic tree. */
export const FIXTURES = {
  read1k: 'bench-fixtures/read-1k.txt',
  read1m: 'bench-fixtures/read-1m.bin',
  probe: 'bench-fixtures/fsprobe.py',
} as const;

export interface SharedCodebase {
  workspace: SyntheticWorkspace;
  codebaseId: string;
}

export class BenchContext {
  private serverPromise?: Promise<BenchServer>;
  private codebasePromise?: Promise<SharedCodebase>;

  constructor(
    readonly repoRoot: string,
    readonly workDir: string,
    readonly sizes: Sizes,
    readonly quick: boolean,
    readonly seed: number,
  ) {}

  log(message: string): void {
    process.stderr.write(`  · ${message}\n`);
  }

  /** A fresh path under the run's temp dir. */
  path(...parts: string[]): string {
    return join(this.workDir, ...parts);
  }

  server(): Promise<BenchServer> {
    this.serverPromise ??= startServer(this.path('server'));
    return this.serverPromise;
  }

  /** The realistic codebase most scenarios run against, with its host copy for native runs. */
  sharedCodebase(): Promise<SharedCodebase> {
    this.codebasePromise ??= (async () => {
      const { rpc } = await this.server();
      this.log(`generating the shared ${this.sizes.codebaseFiles}-file workspace`);
      const workspace = generateWorkspace(this.path('shared-workspace'), {
        fileCount: this.sizes.codebaseFiles,
        totalBytes: this.sizes.codebaseBytes,
        seed: this.seed,
      });
      // Fixed targets for the file-access scenario, part of the codebase like any file.
      workspace.files.push(
        writeSizedFile(workspace.root, FIXTURES.read1k, 1024, this.seed + 1),
        writeSizedFile(workspace.root, FIXTURES.read1m, 1024 * 1024, this.seed + 2),
      );
      copyFileSync(join(__dirname, 'fsprobe.py'), join(workspace.root, FIXTURES.probe));
      workspace.files.push({ path: FIXTURES.probe, size: statSync(join(workspace.root, FIXTURES.probe)).size });
      const codebase = await rpc.createCodebase('bench-shared');
      this.log('uploading it');
      await uploadWorkspaceRaw(rpc, codebase.id, workspace, this.sizes.uploadConcurrency);
      return { workspace, codebaseId: codebase.id };
    })();
    return this.codebasePromise;
  }

  async close(): Promise<void> {
    if (this.serverPromise) {
      const server = await this.serverPromise.catch(() => undefined);
      await server?.stop();
    }
  }
}
