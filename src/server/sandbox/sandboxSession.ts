/** A shell session in a running sandbox, whichever runtime runs it (runtime/shellSession, docker/dockerSession). */
import type { OutputSink } from './runtime/commandRunner';
import type { SessionCommandOutcome } from './runtime/shellSession';

export interface SandboxSession {
  readonly id: string;
  readonly sandboxId: string;
  readonly shell: string;
  readonly createdAt: Date;
  readonly closedAt?: Date;
  readonly closed: boolean;
  /** Runs `command` after the ones queued before it; aborting interrupts this command only. */
  exec(
    command: string,
    timeoutMs: number | undefined,
    sink?: OutputSink,
    abort?: AbortSignal,
  ): Promise<SessionCommandOutcome>;
  /** Kills the session's command and ends the session. */
  close(): void;
}
