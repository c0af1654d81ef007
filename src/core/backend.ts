/**
 * What the core needs from wherever sandboxes live: codebases to upload into, sandboxes to
 * find, create and start, commands to run. The AgentFense gRPC client implements it
 * (src/client/agentFenseBackend.ts); a cloud backend can too. Plain data in and out: no
 * transport type crosses this line.
 */
import type { RefusedConnectionWire } from '../shared/connectionRefusals';
import type { NormalizedRule, PermissionRule } from '../shared/permissions';
import type { LocalFile } from './sync/workspaceWalker';
import type { WireDenials } from '../shared/denialWire';
import type { SandboxRuntime } from '../shared/sandboxRuntime';

export type SandboxStatus = 'pending' | 'running' | 'stopped' | 'error';

/** What the core reads of a sandbox; a backend's own type may carry more (S below). */
export interface SandboxSummary {
  id: string;
  status: SandboxStatus;
  labels: Record<string, string>;
  /** The rules as the backend stored them. */
  permissions: readonly NormalizedRule[];
}

export interface RemoteFile {
  /** Codebase path, relative to the root (`src/a.py`). */
  path: string;
  isDir: boolean;
  size: number;
  modifiedAt?: Date;
}

export interface StoredFile {
  /** Hex sha256 of the bytes the backend stored. */
  checksum: string;
}

export interface UploadProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** The file whose bytes or completion caused this report. */
  currentFile: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  durationMs: number;
  /** Codebase paths the command's merge changed, when the backend says; 0: none. */
  pathsMerged?: number;
  /** The accesses the rules refused, when the run was audited and the backend can tell. */
  denials?: WireDenials;
  /** The connections the network policy refused during the run, when the backend can tell. */
  refusedConnections?: readonly RefusedConnectionWire[];
  /** The command was stopped at `timeoutMs` (its exit code is then the backend's, or 124). */
  timedOut?: boolean;
}

export interface RunRequest {
  /** Relative to the workspace root. */
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Record the accesses the rules refuse (costs time; see the bench's audit-cost). */
  audit?: boolean;
  /** Output as it comes (the result still holds all of it). */
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void;
}

export interface SandboxBackend<S extends SandboxSummary = SandboxSummary> {
  createCodebase(name: string, owner: string): Promise<{ id: string }>;
  /** False when the codebase is gone (a reset server, another client deleted it). */
  hasCodebase(codebaseId: string): Promise<boolean>;
  /** Stores `files`; results in the order of `files`. Aborting rejects with the signal's reason. */
  uploadFiles(
    codebaseId: string,
    files: readonly LocalFile[],
    options: { signal?: AbortSignal; onProgress?: (progress: UploadProgress) => void },
  ): Promise<StoredFile[]>;
  uploadFile(codebaseId: string, path: string, content: Buffer): Promise<StoredFile>;
  /** Every file and directory of the codebase; undefined when the codebase is gone. */
  listFiles(codebaseId: string): Promise<RemoteFile[] | undefined>;
  readFile(codebaseId: string, path: string, options?: { signal?: AbortSignal }): Promise<Buffer>;
  /** Hex sha256 of a stored file, streamed (never held whole). */
  hashFile(codebaseId: string, path: string, options?: { signal?: AbortSignal }): Promise<string>;
  listSandboxes(codebaseId: string): Promise<S[]>;
  /** `runtime`: bubblewrap when absent; a backend that cannot run it refuses (never runs another). */
  createSandbox(
    codebaseId: string,
    options: { permissions: readonly PermissionRule[]; labels: Record<string, string>; runtime?: SandboxRuntime },
  ): Promise<S>;
  /** Undefined when the sandbox is gone. */
  startSandbox(sandboxId: string): Promise<S | undefined>;
  stopSandbox(sandboxId: string): Promise<void>;
  /** Gone for good, with its changes not yet merged (a sandbox made for one granted run). */
  destroySandbox(sandboxId: string): Promise<void>;
  /** Whether a session (a terminal) is open in the sandbox. */
  hasActiveSession(sandboxId: string): Promise<boolean>;
  exec(sandboxId: string, command: string, request?: RunRequest): Promise<RunResult>;
  /** Whether `error` (from exec) says the sandbox is gone or not running: nothing ran. */
  isSandboxGone(error: unknown): boolean;
}
