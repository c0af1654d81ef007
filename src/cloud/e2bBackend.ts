/**
 * Cloud sandboxes as the core's SandboxBackend, over E2B's SDK (E2B, Tencent AGS, PPIO, or any
 * E2B-protocol server). The codebase stays on this machine (`LocalCodebases`); a sandbox gets
 * the files its rules allow (`uploadPlan`) before each run, and after it the workspace is
 * listed inside the sandbox and compared with the listing taken after the push
 * (`workspaceManifest`): changed `write` files are downloaded into the codebase (the review
 * shows them); any other change is reported as not merged and undone at the next push.
 * Runs in one sandbox take turns, so each run's changes are its own.
 */
import { CommandExitError, Sandbox, TimeoutError, type SandboxInfo as E2bSandboxInfo } from 'e2b';
import type {
  RemoteFile,
  RunRequest,
  RunResult,
  SandboxBackend,
  SandboxSummary,
  StoredFile,
  UploadProgress,
} from '../core/backend';
import type { LocalFile } from '../core/sync/workspaceWalker';
import { normalizeRules, PermissionEngine, type PermissionRule } from '../shared/permissions';
import type { SandboxRuntime } from '../shared/sandboxRuntime';
import { shellQuote } from '../shared/shellQuote';
import { printable } from '../shared/denialWire';
import { normalizeCodebasePath } from '../shared/codebasePath';
import { CloudError, cloudError } from './cloudErrors';
import { describeProvider, providerConnection, type CloudSettings } from './cloudProviders';
import { e2bNetworkOptions } from './e2bNetwork';
import { LocalCodebases } from './localCodebases';
import { SandboxLedger, type LedgerEntry } from './sandboxLedger';
import { plannedFile, pushPlan } from './uploadPlan';
import {
  isUtf8Path,
  manifestChanges,
  manifestCommand,
  parseManifest,
  removeLine,
  shownPath,
} from './workspaceManifest';
import { join } from 'node:path';

/** Metadata on every sandbox the extension makes: how the orphan sweep and the list find them. */
export const APP_TAG = 'agentfense.app';
export const CODEBASE_TAG = 'agentfense.codebase';
/** The workspace folder, under the sandbox user's home. */
const WORKSPACE_DIR = 'workspace';
/** Files at most this big are merged back; a bigger one is reported, not downloaded. */
const MAX_MERGE_BYTES = 256 * 1024 * 1024;
/** Files per upload request, and bytes. */
const PUSH_BATCH_FILES = 500;
const PUSH_BATCH_BYTES = 32 * 1024 * 1024;
/** A script longer than this is sent as a file (the kernel's limit for one argument is 128 KiB). */
const INLINE_SCRIPT_BYTES = 64 * 1024;
/** How often a run extends the sandbox's life (`setTimeout`) at most. */
const KEEP_ALIVE_EVERY_MS = 60_000;

export interface CloudSandbox extends SandboxSummary {
  provider: string;
  template: string;
  startedAt?: Date;
  /** When the provider ends it unless it is extended. */
  endsAt?: Date;
  /** This machine made it and knows its files (only such a sandbox is given runs). */
  known: boolean;
  /** A live extension host (this window or another) uses it: not a leftover. */
  inUse: boolean;
}

export interface E2bBackendOptions {
  settings: () => CloudSettings;
  /** The API key (from the editor's secret storage); undefined when none is set. */
  apiKey: () => Promise<string | undefined>;
  /** Where codebases and the ledger live (the extension's global storage). */
  storageDir: string;
}

export class E2bBackend implements SandboxBackend<CloudSandbox> {
  readonly codebases: LocalCodebases;
  private readonly ledger: SandboxLedger;
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly turns = new Map<string, Promise<unknown>>();
  private readonly keptAlive = new Map<string, number>();

  constructor(private readonly o: E2bBackendOptions) {
    this.codebases = new LocalCodebases(join(o.storageDir, 'codebases'));
    this.ledger = new SandboxLedger(join(o.storageDir, 'sandboxes'));
  }

  /** "PPIO (sandbox.ppio.com)": where sandboxes go, for headers and lists. */
  get provider(): string {
    return describeProvider(this.o.settings());
  }

  private async connection(): Promise<{ apiKey: string; domain?: string; apiUrl?: string; sandboxUrl?: string }> {
    const apiKey = await this.o.apiKey();
    if (!apiKey)
      throw new CloudError(
        'no-key',
        `no API key is set for ${this.provider}`,
        'run "AgentFense: Set Cloud API Key" with a key from your provider',
      );
    return { apiKey, ...providerConnection(this.o.settings()) };
  }

  /** Runs `fn`, turning the provider's errors into CloudErrors that say what to do. */
  private async cloud<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw cloudError(e, this.provider, what);
    }
  }

  // Codebases: on this machine.

  createCodebase(name: string, owner: string): Promise<{ id: string }> {
    return this.codebases.create(name, owner);
  }

  hasCodebase(codebaseId: string): Promise<boolean> {
    return this.codebases.has(codebaseId);
  }

  async uploadFiles(
    codebaseId: string,
    files: readonly LocalFile[],
    options: { signal?: AbortSignal; onProgress?: (progress: UploadProgress) => void },
  ): Promise<StoredFile[]> {
    const bytesTotal = files.reduce((n, f) => n + f.size, 0);
    let filesDone = 0;
    let bytesDone = 0;
    const stored = await this.codebases.storeFiles(codebaseId, files, {
      signal: options.signal,
      onStored: (f) => {
        filesDone++;
        bytesDone += f.size;
        options.onProgress?.({ filesDone, filesTotal: files.length, bytesDone, bytesTotal, currentFile: f.path });
      },
    });
    return stored.map((e) => ({ checksum: e.checksum }));
  }

  async uploadFile(codebaseId: string, path: string, content: Buffer): Promise<StoredFile> {
    const mode = (await this.codebases.entry(codebaseId, path))?.mode;
    return { checksum: (await this.codebases.storeBytes(codebaseId, path, content, mode)).checksum };
  }

  async listFiles(codebaseId: string): Promise<RemoteFile[] | undefined> {
    const files = await this.codebases.files(codebaseId);
    if (!files) return undefined;
    const out: RemoteFile[] = [];
    const dirs = new Set<string>();
    for (const [path, e] of files) {
      out.push({ path, isDir: false, size: e.size, modifiedAt: new Date(e.storedAt) });
      for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) dirs.add(path.slice(0, i));
    }
    for (const d of dirs) out.push({ path: d, isDir: true, size: 0 });
    return out;
  }

  readFile(codebaseId: string, path: string): Promise<Buffer> {
    return this.codebases.read(codebaseId, path);
  }

  async hashFile(codebaseId: string, path: string): Promise<string> {
    const e = await this.codebases.entry(codebaseId, path);
    if (!e) throw new Error(`${path}: no such file in the codebase`);
    return e.checksum;
  }

  // Sandboxes: at the provider.

  /** Every sandbox of this app at the provider (the Sandboxes view, the orphan sweep). */
  async listAll(): Promise<CloudSandbox[]> {
    return this.list({ [APP_TAG]: 'agentfense' });
  }

  listSandboxes(codebaseId: string): Promise<CloudSandbox[]> {
    return this.list({ [APP_TAG]: 'agentfense', [CODEBASE_TAG]: codebaseId });
  }

  private async list(metadata: Record<string, string>): Promise<CloudSandbox[]> {
    const conn = await this.connection();
    const infos = await this.cloud('listing sandboxes', async () => {
      const pages = Sandbox.list({ ...conn, query: { metadata, state: ['running', 'paused'] } });
      const all: E2bSandboxInfo[] = [];
      while (pages.hasNext) all.push(...(await pages.nextItems()));
      return all;
    });
    return Promise.all(infos.map(async (i) => this.summary(i.sandboxId, i, await this.ledger.get(i.sandboxId))));
  }

  private summary(
    id: string,
    info: Pick<E2bSandboxInfo, 'metadata' | 'templateId' | 'startedAt' | 'endAt' | 'state'> | undefined,
    entry: LedgerEntry | undefined,
    state?: 'running' | 'paused',
  ): CloudSandbox {
    const s = state ?? info?.state;
    return {
      id,
      status: entry ? (s === 'paused' ? 'stopped' : 'running') : 'error',
      labels: info?.metadata ?? {},
      permissions: entry?.rules ?? [],
      provider: this.provider,
      template: info?.templateId ?? this.o.settings().template,
      startedAt: info?.startedAt,
      endsAt: info?.endAt,
      known: entry !== undefined,
      inUse: entry !== undefined && isAlive(entry.ownerPid),
    };
  }

  async createSandbox(
    codebaseId: string,
    options: { permissions: readonly PermissionRule[]; labels: Record<string, string>; runtime?: SandboxRuntime },
  ): Promise<CloudSandbox> {
    const settings = this.o.settings();
    if (options.runtime?.kind === 'docker')
      throw new CloudError(
        'unsupported',
        `the preset or task asks for the Docker image ${options.runtime.image}; ${this.provider} sandboxes run the template "${settings.template}"`,
        'build a template from that image with your provider and set "agentfense.cloud.template", or use the embedded backend',
      );
    const network = e2bNetworkOptions(options.labels);
    const rules = normalizeRules(options.permissions);
    const metadata = { ...options.labels, [APP_TAG]: 'agentfense', [CODEBASE_TAG]: codebaseId };
    const conn = await this.connection();
    const sbx = await this.cloud(`creating a sandbox from template "${settings.template}"`, () =>
      Sandbox.create(settings.template, { ...conn, metadata, timeoutMs: settings.timeoutMs, ...network }),
    );
    try {
      const made = await this.cloud('preparing the workspace folder', () =>
        sbx.commands.run(`mkdir -p ${WORKSPACE_DIR} && cd ${WORKSPACE_DIR} && pwd`),
      );
      const root = made.stdout.trim();
      if (!root.startsWith('/'))
        throw new CloudError('other', `the sandbox gave no workspace folder (${printable(root)})`);
      await this.ledger.put({
        sandboxId: sbx.sandboxId,
        codebaseId,
        rules,
        root,
        pushed: {},
        manifest: {},
        dirty: [],
        ownerPid: process.pid,
      });
    } catch (e) {
      // Never leave a paid sandbox behind that nothing will use.
      await sbx.kill().catch(() => undefined);
      throw e;
    }
    this.sandboxes.set(sbx.sandboxId, sbx);
    this.keptAlive.set(sbx.sandboxId, Date.now());
    return this.summary(
      sbx.sandboxId,
      {
        metadata,
        templateId: settings.template,
        startedAt: new Date(),
        endAt: new Date(Date.now() + settings.timeoutMs),
        state: 'running',
      },
      await this.ledger.get(sbx.sandboxId),
      'running',
    );
  }

  /** Connects (resuming a paused sandbox); undefined when it is gone. */
  async startSandbox(sandboxId: string): Promise<CloudSandbox | undefined> {
    const entry = await this.ledger.get(sandboxId);
    try {
      await this.connect(sandboxId, true);
    } catch (e) {
      if (this.isSandboxGone(e)) {
        await this.forget(sandboxId);
        return undefined;
      }
      throw e;
    }
    if (entry && entry.ownerPid !== process.pid) await this.ledger.put({ ...entry, ownerPid: process.pid });
    return this.summary(sandboxId, undefined, await this.ledger.get(sandboxId), 'running');
  }

  /** Pauses it (E2B and PPIO keep its memory and files; it costs nothing while paused). */
  async stopSandbox(sandboxId: string): Promise<void> {
    const conn = await this.connection();
    await this.cloud('pausing the sandbox', () => Sandbox.pause(sandboxId, conn));
    this.sandboxes.delete(sandboxId);
  }

  async destroySandbox(sandboxId: string): Promise<void> {
    const conn = await this.connection();
    await this.cloud('killing the sandbox', () => Sandbox.kill(sandboxId, conn));
    await this.forget(sandboxId);
  }

  /** Sessions are the terminal's own here (each line is a run): none is held open at the provider. */
  hasActiveSession(): Promise<boolean> {
    return Promise.resolve(false);
  }

  /** The sandboxes this extension host holds (the window closes: kill them unless paused). */
  async heldHere(): Promise<string[]> {
    return (await this.ledger.all()).filter((e) => e.ownerPid === process.pid).map((e) => e.sandboxId);
  }

  private async forget(sandboxId: string): Promise<void> {
    this.sandboxes.delete(sandboxId);
    this.keptAlive.delete(sandboxId);
    await this.ledger.remove(sandboxId);
  }

  private async connect(sandboxId: string, resume = false): Promise<Sandbox> {
    const known = this.sandboxes.get(sandboxId);
    if (known && !resume) return known;
    const conn = await this.connection();
    const sbx = await this.cloud('connecting to the sandbox', () =>
      Sandbox.connect(sandboxId, { ...conn, timeoutMs: this.o.settings().timeoutMs }),
    );
    this.sandboxes.set(sandboxId, sbx);
    this.keptAlive.set(sandboxId, Date.now());
    return sbx;
  }

  exec(sandboxId: string, command: string, request: RunRequest = {}): Promise<RunResult> {
    // One run at a time per sandbox: a run's changes are what its listing shows.
    const turn = (this.turns.get(sandboxId) ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.run(sandboxId, command, request));
    this.turns.set(sandboxId, turn);
    return turn;
  }

  private async run(sandboxId: string, command: string, request: RunRequest): Promise<RunResult> {
    if (request.audit)
      throw new CloudError(
        'unsupported',
        `audited runs (which accesses the rules refused) need the embedded backend; ${this.provider} cannot trace a command's file calls`,
      );
    request.signal?.throwIfAborted();
    const entry = await this.ledger.get(sandboxId);
    if (!entry)
      throw new CloudError(
        'gone',
        `sandbox ${sandboxId} was not made on this machine (its files and rules are unknown here)`,
      );
    const sbx = await this.connect(sandboxId);
    await this.keepAlive(sbx);
    const rules = new PermissionEngine(entry.rules);
    await this.push(sbx, entry, rules, request.signal);
    request.signal?.throwIfAborted();

    const started = Date.now();
    const out = { stdout: '', stderr: '' };
    const take = (stream: 'stdout' | 'stderr') => (text: string) => {
      out[stream] += text;
      request.onOutput?.(stream, text);
    };
    const cwd = request.cwd ? `${entry.root}/${request.cwd}` : entry.root;
    const handle = await this.cloud('starting the command', () =>
      sbx.commands.run(command, {
        background: true,
        cwd,
        envs: request.env,
        timeoutMs: request.timeoutMs ?? 0,
        onStdout: take('stdout'),
        onStderr: take('stderr'),
      }),
    );
    const onAbort = () => void handle.kill().catch(() => undefined);
    request.signal?.addEventListener('abort', onAbort, { once: true });
    let exitCode: number;
    let timedOut = false;
    try {
      exitCode = (await handle.wait()).exitCode;
    } catch (e) {
      if (request.signal?.aborted) throw request.signal.reason;
      if (e instanceof CommandExitError) exitCode = e.exitCode;
      else if (e instanceof TimeoutError) {
        await handle.kill().catch(() => undefined);
        timedOut = true;
        exitCode = 124;
      } else throw cloudError(e, this.provider, 'running the command');
    } finally {
      request.signal?.removeEventListener('abort', onAbort);
    }
    const durationMs = Date.now() - started;
    // The merge runs even after an interrupted command would have: but an aborted run threw above,
    // and its changes are found by the next run's listing (the manifest still says what was pushed).
    const merged = await this.merge(sbx, entry, rules);
    for (const note of merged.notes) take('stderr')(`${note}\n`);
    return { ...out, exitCode, durationMs, pathsMerged: merged.paths, timedOut };
  }

  /** Extends the sandbox's life while it is used (at most once a minute). */
  private async keepAlive(sbx: Sandbox): Promise<void> {
    const last = this.keptAlive.get(sbx.sandboxId) ?? 0;
    if (Date.now() - last < KEEP_ALIVE_EVERY_MS) return;
    await this.cloud('extending the sandbox timeout', () => sbx.setTimeout(this.o.settings().timeoutMs));
    this.keptAlive.set(sbx.sandboxId, Date.now());
  }

  /** Brings the sandbox's workspace to the codebase under its rules, then lists it. */
  private async push(sbx: Sandbox, entry: LedgerEntry, rules: PermissionEngine, signal?: AbortSignal): Promise<void> {
    const files = await this.codebases.files(entry.codebaseId);
    if (!files) throw new CloudError('gone', `the codebase of sandbox ${sbx.sandboxId} is gone from this machine`);
    const { plan, wanted } = pushPlan(files, rules, entry.pushed, new Set(entry.dirty));
    if (plan.write.length === 0 && plan.remove.length === 0 && Object.keys(entry.pushed).length > 0) return;
    const q = (p: string) => shellQuote(p);
    // Files pushed before may be read-only now: make room by removing what is replaced.
    const replaced = [
      ...plan.remove,
      ...plan.write.map((f) => f.path).filter((p) => p in entry.pushed || entry.dirty.includes(p)),
    ];
    if (replaced.length) await this.script(sbx, entry.root, replaced.map(removeLine));
    let batch: { path: string; data: ArrayBuffer }[] = [];
    let bytes = 0;
    const flush = async () => {
      if (!batch.length) return;
      const b = batch;
      batch = [];
      bytes = 0;
      await this.cloud('uploading files to the sandbox', () => sbx.files.write(b, { requestTimeoutMs: 0 }));
    };
    for (const f of plan.write) {
      signal?.throwIfAborted();
      const data = f.checksum ? await this.codebases.read(entry.codebaseId, f.path) : Buffer.alloc(0);
      batch.push({ path: `${entry.root}/${f.path}`, data: new Uint8Array(data).buffer });
      bytes += data.length;
      if (batch.length >= PUSH_BATCH_FILES || bytes >= PUSH_BATCH_BYTES) await flush();
    }
    await flush();
    const modes = plan.write.map((f) => `chmod ${f.mode.toString(8).padStart(3, '0')} -- ${q(f.path)}`);
    const listing = await this.script(sbx, entry.root, [...modes, manifestCommand(entry.root)]);
    const pushed: Record<string, string> = {};
    for (const [path, f] of wanted) pushed[path] = f.key;
    Object.assign(entry, { pushed, manifest: parseManifest(listing), dirty: [] });
    await this.ledger.put(entry);
  }

  /** The run's changes: `write` files into the codebase, the rest reported and marked to undo. */
  private async merge(
    sbx: Sandbox,
    entry: LedgerEntry,
    rules: PermissionEngine,
  ): Promise<{ paths: number; notes: string[] }> {
    const after = parseManifest(await this.script(sbx, entry.root, [manifestCommand(entry.root)]));
    const changes = manifestChanges(entry.manifest, after);
    const notes: string[] = [];
    const dirty = new Set(entry.dirty);
    const removed: string[] = [];
    let paths = 0;
    for (const c of changes) {
      const refuse = (why: string) => {
        notes.push(`not merged: ${printable(shownPath(c.path))} (${why})`);
        dirty.add(c.path);
      };
      if (!isUtf8Path(c.path)) refuse('its name is not UTF-8');
      else if (!isCodebasePath(c.path)) refuse('not a path a codebase can hold');
      else if (rules.permissionOf(c.path) !== 'write')
        refuse(`${rules.permissionOf(c.path)} under the sandbox's rules`);
      else if (c.change === 'removed') {
        removed.push(c.path);
        paths++;
      } else if (c.kind !== 'file') refuse('only regular files are merged from a cloud sandbox');
      else if ((c.size ?? 0) > MAX_MERGE_BYTES) refuse(`larger than ${MAX_MERGE_BYTES / 1024 / 1024} MiB`);
      else {
        const bytes = Buffer.from(
          await this.cloud(`downloading ${c.path}`, () =>
            sbx.files.read(`${entry.root}/${c.path}`, { format: 'bytes', requestTimeoutMs: 0 }),
          ),
        );
        const was = await this.codebases.entry(entry.codebaseId, c.path);
        const stored = await this.codebases.storeBytes(entry.codebaseId, c.path, bytes, was?.mode ?? 0o644);
        if (stored.checksum !== was?.checksum) paths++;
        const planned = plannedFile(c.path, stored, rules);
        if (planned) entry.pushed[c.path] = planned.key;
      }
    }
    if (removed.length) {
      await this.codebases.remove(entry.codebaseId, removed);
      for (const p of removed) delete entry.pushed[p];
    }
    Object.assign(entry, { manifest: after, dirty: [...dirty] });
    await this.ledger.put(entry);
    return { paths, notes };
  }

  /**
   * Runs shell lines in the workspace folder, stopping at the first failure; its stdout. A long
   * script (thousands of chmods) goes as a file beside the folder: one argument is at most 128 KiB.
   */
  private async script(sbx: Sandbox, root: string, lines: readonly string[]): Promise<string> {
    const text = ['set -e', `cd ${shellQuote(root)}`, ...lines].join('\n');
    const r = await this.cloud('updating the workspace folder', async () => {
      try {
        if (text.length <= INLINE_SCRIPT_BYTES) return await sbx.commands.run(text, { timeoutMs: 0 });
        const file = `${root}/../.agentfense-script.sh`;
        await sbx.files.write(file, text, { requestTimeoutMs: 0 });
        return await sbx.commands.run(`sh ${shellQuote(file)}; status=$?; rm -f ${shellQuote(file)}; exit $status`, {
          timeoutMs: 0,
        });
      } catch (e) {
        if (e instanceof CommandExitError)
          throw new CloudError(
            'other',
            `a workspace command failed in the sandbox (exit ${e.exitCode}): ${e.stderr.trim()}`,
          );
        throw e;
      }
    });
    return r.stdout;
  }

  isSandboxGone(error: unknown): boolean {
    return error instanceof CloudError && error.kind === 'gone';
  }
}

function isCodebasePath(path: string): boolean {
  try {
    return normalizeCodebasePath(path) === path;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
