/**
 * A persistent shell inside a sandbox: working directory, exported variables and
 * background processes survive between `exec` calls. Close it (or `await using` it) to
 * kill its process tree.
 */
import { SessionClosedError, SessionNotFoundError } from './errors';
import type { SandboxClient, SessionExecOptions } from './sandboxClient';
import type { ExecResult, SessionInfo } from './types';
import type { CommandOutput } from './commandOutput';

export class Session implements AsyncDisposable {
  private closed = false;

  constructor(
    private readonly client: SandboxClient,
    private sessionInfo: SessionInfo,
  ) {}

  get id(): string {
    return this.sessionInfo.id;
  }

  get sandboxId(): string {
    return this.sessionInfo.sandboxId;
  }

  get info(): SessionInfo {
    return this.sessionInfo;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  exec(command: string, opts: SessionExecOptions = {}): Promise<ExecResult> {
    if (this.closed) return Promise.reject(new SessionClosedError(this.id));
    return this.client.sessionExec(this.id, command, opts);
  }

  execStream(command: string, opts: SessionExecOptions = {}): CommandOutput {
    if (this.closed) throw new SessionClosedError(this.id);
    return this.client.sessionExecStream(this.id, command, opts);
  }

  async refresh(): Promise<SessionInfo> {
    this.sessionInfo = await this.client.getSession(this.id);
    return this.sessionInfo;
  }

  /** Destroys the session on the server. Safe to call twice; a session already gone counts as closed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.destroySession(this.id);
    } catch (err) {
      if (!(err instanceof SessionNotFoundError)) throw err;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
