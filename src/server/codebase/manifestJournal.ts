/**
 * Durable form of one codebase's manifest: `manifest.json` (a compacted snapshot) plus
 * `journal.log`, an append-only log with one JSON line per published batch of changes.
 * Appending a line per upload keeps 10 000-file uploads cheap; the log is folded into the
 * snapshot on open and whenever it has grown as large as the manifest.
 *
 * Crash model: the process may die at any point (no fsync; power loss is out of scope).
 * A torn last line is ignored, so a batch is either fully recovered or not at all.
 */
import { open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManifestEntry } from './contract';
import { Manifest, type ManifestOp } from './manifest';

const SNAPSHOT_FILE = 'manifest.json';
const JOURNAL_FILE = 'journal.log';
/** Compact once the journal has at least this many lines and as many as the manifest has files. */
const MIN_LINES_BEFORE_COMPACTION = 1000;

type EntryRecord = [path: string, size: number, mode: number, digest: string, mtimeMs: number];
type OpRecord = ['p', ...EntryRecord] | ['d', string];
interface BatchRecord {
  /** Batch sequence number; the snapshot records the last one folded into it. */
  s: number;
  /** When the batch was published (ms since epoch); drives the codebase's updated_at. */
  t: number;
  ops: OpRecord[];
}
interface SnapshotRecord {
  seq: number;
  updatedAtMs: number;
  entries: EntryRecord[];
}

export interface LoadedManifest {
  manifest: Manifest;
  /** Latest publish time found on disk, 0 if none. */
  updatedAtMs: number;
}

export class ManifestJournal {
  private handle: FileHandle | undefined;
  private linesSinceCompaction = 0;
  /** Set when an append failed part-way: the next one starts a fresh line so it cannot join the fragment. */
  private mayEndInFragment = false;

  private constructor(private readonly dir: string) {}

  /** Reads snapshot + journal, then compacts so the next run starts from a clean journal. */
  static async load(dir: string, codebaseId: string): Promise<{ journal: ManifestJournal; loaded: LoadedManifest }> {
    const manifest = new Manifest(codebaseId);
    let updatedAtMs = 0;
    const snapshot = await readOptional(join(dir, SNAPSHOT_FILE));
    if (snapshot !== undefined) {
      const record = JSON.parse(snapshot) as SnapshotRecord;
      for (const e of record.entries) manifest.set(e[0], entryFromRecord(e));
      manifest.advanceTo(record.seq);
      updatedAtMs = record.updatedAtMs;
    }
    const journalText = (await readOptional(join(dir, JOURNAL_FILE))) ?? '';
    const lines = journalText.split('\n');
    // The text after the last newline is either empty or a line torn by a crash: skip it.
    lines.pop();
    for (const line of lines) {
      const batch = parseBatch(line);
      if (!batch || batch.s <= manifest.sequence) continue;
      for (const op of batch.ops) manifest.apply(opFromRecord(op));
      manifest.advanceTo(batch.s);
      updatedAtMs = Math.max(updatedAtMs, batch.t);
    }
    const journal = new ManifestJournal(dir);
    if (journalText !== '') await journal.compact(manifest, updatedAtMs);
    return { journal, loaded: { manifest, updatedAtMs } };
  }

  /** Appends batches (already numbered) as one write. */
  async append(
    batches: ReadonlyArray<{ seq: number; publishedAtMs: number; ops: readonly ManifestOp[] }>,
  ): Promise<void> {
    let text = this.mayEndInFragment ? '\n' : '';
    for (const b of batches) {
      const record: BatchRecord = { s: b.seq, t: b.publishedAtMs, ops: b.ops.map(opToRecord) };
      text += JSON.stringify(record) + '\n';
    }
    const handle = (this.handle ??= await open(join(this.dir, JOURNAL_FILE), 'a'));
    try {
      await handle.appendFile(text);
      this.mayEndInFragment = false;
    } catch (err) {
      this.mayEndInFragment = true;
      throw err;
    }
    this.linesSinceCompaction += batches.length;
  }

  shouldCompact(manifest: Manifest): boolean {
    return this.linesSinceCompaction >= Math.max(MIN_LINES_BEFORE_COMPACTION, manifest.fileCount);
  }

  /**
   * Writes the snapshot (temp file + rename, so it is whole or absent) and then empties the
   * journal. Dying in between is harmless: the journal's batches are already in the snapshot
   * and are skipped by sequence number. Callers must not append concurrently.
   */
  async compact(manifest: Manifest, updatedAtMs: number): Promise<void> {
    const record: SnapshotRecord = {
      seq: manifest.sequence,
      updatedAtMs,
      entries: [...manifest.entries()].map(entryToRecord),
    };
    const tmp = join(this.dir, `${SNAPSHOT_FILE}.tmp`);
    await writeFile(tmp, JSON.stringify(record));
    await rename(tmp, join(this.dir, SNAPSHOT_FILE));
    const handle = (this.handle ??= await open(join(this.dir, JOURNAL_FILE), 'a'));
    await handle.truncate(0);
    this.linesSinceCompaction = 0;
    this.mayEndInFragment = false;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function parseBatch(line: string): BatchRecord | undefined {
  if (line === '') return undefined;
  try {
    const record = JSON.parse(line) as BatchRecord;
    return typeof record.s === 'number' && Array.isArray(record.ops) ? record : undefined;
  } catch {
    // A fragment left by a failed append (e.g. ENOSPC); its batch was never acknowledged.
    return undefined;
  }
}

function entryToRecord(e: ManifestEntry): EntryRecord {
  return [e.path, e.size, e.mode, e.digest, e.mtimeMs];
}

function entryFromRecord([path, size, mode, digest, mtimeMs]: EntryRecord): ManifestEntry {
  return Object.freeze({ path, size, mode, digest, mtimeMs });
}

function opToRecord(op: ManifestOp): OpRecord {
  return 'put' in op ? ['p', ...entryToRecord(op.put)] : ['d', op.remove];
}

function opFromRecord(record: OpRecord): ManifestOp {
  if (record[0] === 'd') return { remove: record[1] };
  const [, ...entry] = record;
  return { put: entryFromRecord(entry) };
}
