/**
 * What this machine knows of each cloud sandbox it made: the codebase and rules it was made
 * with, where its workspace folder is, what was pushed to it and the listing taken then, and
 * which window holds it. A provider keeps only metadata strings; the rest lives here, one
 * 0600 file per sandbox, replaced whole. A sandbox this machine has no entry for (another
 * machine's, or state lost) is shown and can be killed, but is never given a run.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NormalizedRule } from '../shared/permissions';
import type { WorkspaceManifest } from './workspaceManifest';

export interface LedgerEntry {
  sandboxId: string;
  codebaseId: string;
  rules: NormalizedRule[];
  /** Absolute path of the workspace folder inside the sandbox. */
  root: string;
  /** Path → the PlannedFile key last pushed. */
  pushed: Record<string, string>;
  /** The workspace's listing when the pushed files were in place. */
  manifest: WorkspaceManifest;
  /** Paths changed against the rules: put back from the codebase at the next push. */
  dirty: string[];
  /** The extension host that uses it; a sandbox of a live process is not a leftover. */
  ownerPid: number;
}

const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

export class SandboxLedger {
  private readonly entries = new Map<string, LedgerEntry>();
  private loaded: Promise<void> | undefined;

  constructor(private readonly dir: string) {}

  async get(sandboxId: string): Promise<LedgerEntry | undefined> {
    await this.load();
    return this.entries.get(sandboxId);
  }

  async all(): Promise<LedgerEntry[]> {
    await this.load();
    return [...this.entries.values()];
  }

  async put(entry: LedgerEntry): Promise<void> {
    await this.load();
    if (!SAFE_ID.test(entry.sandboxId))
      throw new Error(`unexpected sandbox id from the provider: ${JSON.stringify(entry.sandboxId)}`);
    this.entries.set(entry.sandboxId, entry);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = join(this.dir, `${entry.sandboxId}.json`);
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(entry), { mode: 0o600 });
    await rename(tmp, path);
  }

  async remove(sandboxId: string): Promise<void> {
    await this.load();
    this.entries.delete(sandboxId);
    if (SAFE_ID.test(sandboxId)) await rm(join(this.dir, `${sandboxId}.json`), { force: true });
  }

  private load(): Promise<void> {
    this.loaded ??= (async () => {
      let names: string[];
      try {
        names = await readdir(this.dir);
      } catch {
        return;
      }
      for (const name of names.filter((n) => n.endsWith('.json'))) {
        try {
          const e = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as LedgerEntry;
          this.entries.set(e.sandboxId, e);
        } catch {
          // A torn or foreign file: that sandbox is then unknown here (shown, never given a run).
        }
      }
    })();
    return this.loaded;
  }
}
