/**
 * The AgentFense protocol as the core's SandboxBackend. Every call goes through `call`, so the
 * extension can route them over its reconnecting connection (retrying what is idempotent)
 * while the bench and the MCP server hand a plain client.
 */
import type { SandboxRuntime } from '../shared/sandboxRuntime';
import type { RemoteFile, RunRequest, RunResult, SandboxBackend, StoredFile, UploadProgress } from '../core/backend';
import { sha256Stream } from '../core/sync/contentHash';
import type { LocalFile } from '../core/sync/workspaceWalker';
import type { PermissionRule } from '../shared/permissions';
import { CodebaseNotFoundError, SandboxNotFoundError, SandboxNotRunningError } from './errors';
import type { CommandOutput } from './commandOutput';
import type { SandboxClient } from './sandboxClient';
import type { SandboxInfo } from './types';
import { uploadFiles } from './uploader';

/** Runs one client call; `idempotent` says whether it may be retried after a lost connection. */
export type ClientCall = <T>(fn: (client: SandboxClient) => Promise<T>, options: { idempotent: boolean }) => Promise<T>;

export class AgentFenseBackend implements SandboxBackend<SandboxInfo> {
  constructor(private readonly call: ClientCall) {}

  /** A backend over one client, without retries. */
  static over(client: SandboxClient): AgentFenseBackend {
    return new AgentFenseBackend((fn) => fn(client));
  }

  async createCodebase(name: string, owner: string): Promise<{ id: string }> {
    return this.call((c) => c.createCodebase(name, owner), { idempotent: false });
  }

  async hasCodebase(codebaseId: string): Promise<boolean> {
    return absentIf(
      CodebaseNotFoundError,
      this.call((c) => c.getCodebase(codebaseId), { idempotent: true }),
    ).then((cb) => cb !== undefined);
  }

  uploadFiles(
    codebaseId: string,
    files: readonly LocalFile[],
    options: { signal?: AbortSignal; onProgress?: (progress: UploadProgress) => void },
  ): Promise<StoredFile[]> {
    // Uploading the same bytes again is harmless.
    return this.call((c) => uploadFiles(c, codebaseId, files, options), { idempotent: true });
  }

  uploadFile(codebaseId: string, path: string, content: Buffer): Promise<StoredFile> {
    return this.call((c) => c.uploadFile(codebaseId, path, content), { idempotent: true });
  }

  listFiles(codebaseId: string): Promise<RemoteFile[] | undefined> {
    return absentIf(
      CodebaseNotFoundError,
      this.call((c) => c.listFiles(codebaseId, { recursive: true }), { idempotent: true }),
    );
  }

  readFile(codebaseId: string, path: string, options: { signal?: AbortSignal } = {}): Promise<Buffer> {
    return this.call((c) => c.readFile(codebaseId, path, options), { idempotent: true });
  }

  hashFile(codebaseId: string, path: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    return this.call((c) => sha256Stream(c.downloadFile(codebaseId, path, options)), { idempotent: true });
  }

  async listSandboxes(codebaseId: string): Promise<SandboxInfo[]> {
    return (await this.call((c) => c.listSandboxes({ codebaseId }), { idempotent: true })).sandboxes;
  }

  createSandbox(
    codebaseId: string,
    options: { permissions: readonly PermissionRule[]; labels: Record<string, string>; runtime?: SandboxRuntime },
  ): Promise<SandboxInfo> {
    const runtime =
      options.runtime?.kind === 'docker' ? { runtime: 'docker' as const, image: options.runtime.image } : {};
    return this.call(
      (c) => c.createSandbox(codebaseId, { permissions: [...options.permissions], labels: options.labels, ...runtime }),
      { idempotent: false },
    );
  }

  startSandbox(sandboxId: string): Promise<SandboxInfo | undefined> {
    return absentIf(
      SandboxNotFoundError,
      this.call((c) => c.startSandbox(sandboxId), { idempotent: true }),
    );
  }

  async stopSandbox(sandboxId: string): Promise<void> {
    await this.call((c) => c.stopSandbox(sandboxId), { idempotent: true });
  }

  async destroySandbox(sandboxId: string): Promise<void> {
    await this.call((c) => c.destroySandbox(sandboxId), { idempotent: true });
  }

  async hasActiveSession(sandboxId: string): Promise<boolean> {
    const sessions = await this.call((c) => c.listSessions(sandboxId), { idempotent: true });
    return sessions.some((s) => s.status === 'active');
  }

  exec(sandboxId: string, command: string, { cwd, onOutput, ...request }: RunRequest = {}): Promise<RunResult> {
    const workdir = cwd ? `/workspace/${cwd}` : undefined;
    if (!onOutput) return this.call((c) => c.exec(sandboxId, command, { ...request, workdir }), { idempotent: false });
    return this.call((c) => streamed(c.execStream(sandboxId, command, { ...request, workdir }), onOutput), {
      idempotent: false,
    });
  }

  isSandboxGone(error: unknown): boolean {
    return error instanceof SandboxNotFoundError || error instanceof SandboxNotRunningError;
  }
}

/** A streamed command's result, each chunk handed to `onOutput` as it comes. */
async function streamed(output: CommandOutput, onOutput: NonNullable<RunRequest['onOutput']>): Promise<RunResult> {
  const started = Date.now();
  const text = { stdout: '', stderr: '' };
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  const take = (stream: 'stdout' | 'stderr', piece: string) => {
    if (!piece) return;
    text[stream] += piece;
    onOutput(stream, piece);
  };
  for await (const chunk of output) take(chunk.stream, decoders[chunk.stream].decode(chunk.data, { stream: true }));
  take('stdout', decoders.stdout.decode());
  take('stderr', decoders.stderr.decode());
  if (output.exitCode === undefined) throw new Error('the server did not say how the command ended (no exit code)');
  return {
    ...text,
    exitCode: output.exitCode,
    durationMs: Date.now() - started,
    pathsMerged: output.pathsMerged,
    denials: output.denials,
    refusedConnections: output.refusedConnections,
  };
}

/** The call's result, or undefined when it failed with `missing` (the thing is gone). */
async function absentIf<T>(
  missing: abstract new (...args: never[]) => Error,
  call: Promise<T>,
): Promise<T | undefined> {
  try {
    return await call;
  } catch (e) {
    if (e instanceof missing) return undefined;
    throw e;
  }
}
