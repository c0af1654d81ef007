/** The public API of the AgentFense client (no `vscode` import anywhere below). */
export { Sandbox, DEFAULT_PRESET, DEFAULT_RUN_TIMEOUT_MS, codebaseNameFor } from './sandbox';
export type { ConnectOptions, CreateOptions, FromLocalOptions, RunOptions } from './sandbox';
export { Session } from './session';
export { InteractiveTerminal, type TerminalEnd, type TerminalOptions } from './interactiveTerminal';
export { CommandOutput } from './commandOutput';
export { SandboxClient, DEFAULT_ENDPOINT, DEFAULT_DEADLINE_MS, EXEC_DEADLINE_GRACE_MS } from './sandboxClient';
export type {
  CallOverrides,
  CreateSandboxOptions,
  ExecOptions,
  SandboxClientOptions,
  SessionExecOptions,
  UploadFileOptions,
} from './sandboxClient';
export type * from './types';
export {
  AgentFenseError,
  CodebaseNotFoundError,
  CommandExecutionError,
  CommandTimeoutError,
  ConnectionError,
  FileNotFoundError,
  InvalidConfigurationError,
  PermissionDeniedError,
  ResourceLimitExceededError,
  SandboxNotFoundError,
  SandboxNotRunningError,
  SessionClosedError,
  SessionNotFoundError,
  TerminalUnsupportedError,
  UnauthenticatedError,
  UploadError,
} from './errors';
export { DEFAULT_RETRY_POLICY, backoffDelayMs, type RetryPolicy } from './retry';
export { UPLOAD_CHUNK_BYTES, type UploadContent } from './uploadChunks';
export {
  walkWorkspace,
  DEFAULT_IGNORES,
  IGNORE_FILE_NAMES,
  type LocalFile,
  type WalkOptions,
} from '../core/sync/workspaceWalker';
export { AgentFenseBackend, type ClientCall } from './agentFenseBackend';
export { uploadFiles, DEFAULT_UPLOAD_CONCURRENCY, type UploadFilesOptions, type UploadProgress } from './uploader';
export * from './presets';
export type { PermissionRule, NormalizedRule, PermissionLevel, PatternType } from '../shared/permissions';
