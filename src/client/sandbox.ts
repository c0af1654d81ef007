/**
 * The high-level API, mirroring the SDK's `AsyncSandbox`:
 *
 *   await using sandbox = await Sandbox.fromLocal('./project', { preset: 'agent-safe' });
 *   const result = await sandbox.run('pytest');
 *
 * A Sandbox owns the client it created (and closes it) and the codebase `fromLocal`
 * created (and deletes it on `destroy()` / disposal).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { sandboxPathToCodebasePath, InvalidPathError } from '../shared/codebasePath';
import type { NormalizedRule, PermissionRule } from '../shared/permissions';
import { CommandExecutionError, InvalidConfigurationError, SandboxNotFoundError } from './errors';
import { SandboxClient, type ExecOptions, type SandboxClientOptions } from './sandboxClient';
import { sandboxRules } from './sandboxRules';
import { Session } from './session';
import type { InteractiveTerminal, TerminalOptions } from './interactiveTerminal';
import type { CommandOutput } from './commandOutput';
import type { ExecResult, FileInfo, ResourceLimits, RuntimeType, SandboxInfo, SandboxStatus } from './types';
import { uploadFiles, type UploadProgress } from './uploader';
import { walkWorkspace } from '../core/sync/workspaceWalker';

/** `Sandbox.run`'s timeout when none is given, as in the SDK. */
export const DEFAULT_RUN_TIMEOUT_MS = 60_000;
export const DEFAULT_PRESET = 'view-only';

export interface ConnectOptions {
  /** Use this client (not closed by the Sandbox); otherwise one is created from the options below. */
  client?: SandboxClient;
  endpoint?: string;
  /** Further options for a client the Sandbox creates (token, TLS, deadlines, retry). */
  clientOptions?: Omit<SandboxClientOptions, 'endpoint'>;
}

export interface CreateOptions extends ConnectOptions {
  /** A built-in preset (default `view-only`, as the SDK); `null` for `permissions` only. */
  preset?: string | null;
  /** Appended to the preset's rules. */
  permissions?: readonly PermissionRule[];
  runtime?: RuntimeType;
  image?: string;
  resources?: ResourceLimits;
  labels?: Record<string, string>;
  expiresInMs?: number;
  /** Start the sandbox right away; default true. */
  autoStart?: boolean;
  signal?: AbortSignal;
}

export interface FromLocalOptions extends CreateOptions {
  /** Extra gitignore-style patterns (see walkWorkspace). */
  ignore?: string[];
  /** Default: the directory's name. */
  codebaseName?: string;
  /** Default: derived from the local user name. */
  ownerId?: string;
  onProgress?: (progress: UploadProgress) => void;
  /** UploadFiles calls in flight against a server without UploadBatch; default 16. */
  concurrency?: number;
}

export interface RunOptions extends ExecOptions {
  /** Throw CommandExecutionError (carrying the result) on a non-zero exit code. */
  raiseOnError?: boolean;
}

export class Sandbox implements AsyncDisposable {
  private destroyed = false;

  private constructor(
    readonly client: SandboxClient,
    private sandboxInfo: SandboxInfo,
    private readonly ownsClient: boolean,
    private readonly ownsCodebase: boolean,
  ) {}

  /**
   * Uploads `dir` into a new codebase (honouring .gitignore/.sandboxignore and `ignore`),
   * creates a sandbox on it and starts it. On any failure what was created is removed.
   */
  static async fromLocal(dir: string, options: FromLocalOptions = {}): Promise<Sandbox> {
    const root = resolve(dir);
    const stat = await fs.stat(root).catch(() => undefined);
    if (!stat?.isDirectory()) throw new InvalidConfigurationError(`not a directory: ${dir}`);
    const permissions = composeRules(options);
    const files = await walkWorkspace(root, { ignore: options.ignore, signal: options.signal });
    const { client, ownsClient } = clientFor(options);
    let codebaseId: string | undefined;
    let sandboxId: string | undefined;
    try {
      const codebase = await client.createCodebase(
        options.codebaseName ?? codebaseNameFor(root),
        options.ownerId ?? defaultOwnerId(),
        {
          signal: options.signal,
        },
      );
      codebaseId = codebase.id;
      await uploadFiles(client, codebase.id, files, {
        concurrency: options.concurrency,
        onProgress: options.onProgress,
        signal: options.signal,
      });
      const info = await createAndStart(client, codebase.id, permissions, options, (id) => (sandboxId = id));
      return new Sandbox(client, info, ownsClient, true);
    } catch (err) {
      // Best effort: the original error is what the caller needs to see.
      if (sandboxId) await client.destroySandbox(sandboxId).catch(() => {});
      if (codebaseId) await client.deleteCodebase(codebaseId).catch(() => {});
      if (ownsClient) client.close();
      throw err;
    }
  }

  /** A new sandbox on an existing codebase (which is never deleted by this Sandbox). */
  static async fromCodebase(codebaseId: string, options: CreateOptions = {}): Promise<Sandbox> {
    const permissions = composeRules(options);
    const { client, ownsClient } = clientFor(options);
    let sandboxId: string | undefined;
    try {
      await client.getCodebase(codebaseId, { signal: options.signal });
      const info = await createAndStart(client, codebaseId, permissions, options, (id) => (sandboxId = id));
      return new Sandbox(client, info, ownsClient, false);
    } catch (err) {
      if (sandboxId) await client.destroySandbox(sandboxId).catch(() => {});
      if (ownsClient) client.close();
      throw err;
    }
  }

  /** Attaches to an existing sandbox; destroying it leaves its codebase alone. */
  static async connect(sandboxId: string, options: ConnectOptions = {}): Promise<Sandbox> {
    const { client, ownsClient } = clientFor(options);
    try {
      return new Sandbox(client, await client.getSandbox(sandboxId), ownsClient, false);
    } catch (err) {
      if (ownsClient) client.close();
      throw err;
    }
  }

  get id(): string {
    return this.sandboxInfo.id;
  }

  get codebaseId(): string {
    return this.sandboxInfo.codebaseId;
  }

  /** As last seen; `refresh()` asks the server. */
  get status(): SandboxStatus {
    return this.sandboxInfo.status;
  }

  get info(): SandboxInfo {
    return this.sandboxInfo;
  }

  /** Runs a command (default timeout 60 s, as the SDK's `run`). */
  async run(command: string, options: RunOptions = {}): Promise<ExecResult> {
    const { raiseOnError, ...exec } = options;
    const result = await this.client.exec(this.id, command, {
      ...exec,
      timeoutMs: exec.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS,
    });
    if (raiseOnError && result.exitCode !== 0) throw new CommandExecutionError(command, result);
    return result;
  }

  /** Streams a command's output; see `SandboxClient.execStream` for cancellation. */
  runStream(command: string, options: ExecOptions = {}): CommandOutput {
    return this.client.execStream(this.id, command, options);
  }

  /** An interactive terminal (a real pseudo-terminal) in this sandbox; see InteractiveTerminal. */
  terminal(options: TerminalOptions = {}): InteractiveTerminal {
    return this.client.openTerminal(this.id, options);
  }

  async session(options: { shell?: string; env?: Record<string, string> } = {}): Promise<Session> {
    return new Session(this.client, await this.client.createSession(this.id, options));
  }

  /** A file of the codebase (`/workspace/out/a.txt` or `out/a.txt`), including what commands wrote. */
  async readFile(path: string, options: { signal?: AbortSignal } = {}): Promise<Buffer> {
    const codebasePath = toCodebasePath(path);
    if (codebasePath === '')
      throw new InvalidConfigurationError(`${JSON.stringify(path)} is the workspace root, not a file`);
    return this.client.readFile(this.codebaseId, codebasePath, options);
  }

  async listFiles(path = '', recursive = false): Promise<FileInfo[]> {
    return this.client.listFiles(this.codebaseId, { path: toCodebasePath(path), recursive });
  }

  async start(): Promise<this> {
    if (this.sandboxInfo.status !== 'running') this.sandboxInfo = await this.client.startSandbox(this.id);
    return this;
  }

  async stop(): Promise<this> {
    if (this.sandboxInfo.status === 'running') this.sandboxInfo = await this.client.stopSandbox(this.id);
    return this;
  }

  async refresh(): Promise<this> {
    this.sandboxInfo = await this.client.getSandbox(this.id);
    return this;
  }

  /**
   * Destroys the sandbox; deletes the codebase if `deleteCodebase` (default: only when
   * `fromLocal` created it); closes the client if the Sandbox created it. Safe to call
   * twice; a sandbox already gone counts as destroyed.
   */
  async destroy(options: { deleteCodebase?: boolean } = {}): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    try {
      await this.client.destroySandbox(this.id).catch((err: unknown) => {
        if (!(err instanceof SandboxNotFoundError)) throw err;
      });
      if (options.deleteCodebase ?? this.ownsCodebase) await this.client.deleteCodebase(this.codebaseId);
    } finally {
      if (this.ownsClient) this.client.close();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}

function clientFor(options: ConnectOptions): { client: SandboxClient; ownsClient: boolean } {
  if (options.client) return { client: options.client, ownsClient: false };
  return { client: new SandboxClient({ ...options.clientOptions, endpoint: options.endpoint }), ownsClient: true };
}

/** Validated before anything is created; `preset: undefined` means the default preset. */
function composeRules(options: CreateOptions): NormalizedRule[] {
  return sandboxRules(options.preset === undefined ? DEFAULT_PRESET : options.preset, options.permissions);
}

async function createAndStart(
  client: SandboxClient,
  codebaseId: string,
  permissions: NormalizedRule[],
  options: CreateOptions,
  created: (sandboxId: string) => void,
): Promise<SandboxInfo> {
  let info = await client.createSandbox(codebaseId, {
    permissions,
    runtime: options.runtime,
    image: options.image,
    resources: options.resources,
    labels: options.labels,
    expiresInMs: options.expiresInMs,
    signal: options.signal,
  });
  created(info.id);
  if (options.autoStart ?? true) info = await client.startSandbox(info.id, { signal: options.signal });
  return info;
}

function toCodebasePath(path: string): string {
  try {
    return sandboxPathToCodebasePath(path);
  } catch (err) {
    if (err instanceof InvalidPathError) throw new InvalidConfigurationError(err.message, { cause: err });
    throw err;
  }
}

/** A readable codebase name from the directory: letters, digits, `-` and `_`. */
export function codebaseNameFor(dir: string): string {
  const name = basename(dir)
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return name || 'unnamed-project';
}

/** Stable per local user, so one person's codebases group together on a shared server. */
function defaultOwnerId(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (some containers): keep the placeholder
  }
  return `user_${createHash('sha256').update(`agentfense-vscode:${user}`).digest('hex').slice(0, 8)}`;
}
