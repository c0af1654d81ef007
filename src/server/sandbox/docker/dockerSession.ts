/**
 * A session in a Docker sandbox: each command is its own Docker exec of the session's shell
 * through the runner (so its exit status is the engine's, as for one-shot commands), with the
 * session's state (working directory, exported variables) carried as data exactly as the
 * bubblewrap supervisor carries it (sessionSupervisor.ts): the command's shell saves it to a
 * file in the sandbox's /tmp on exit, and the server reads that file from the host side of
 * the /tmp bind without following a link the sandbox may have put there. What a command starts
 * in the background lives on, under a keeper per command, until the session ends (as in a
 * bubblewrap session); a timeout or cancel ends it too.
 */
import { constants } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { OutputSink, RunOutcome } from '../runtime/commandRunner';
import type { SessionCommandOutcome } from '../runtime/shellSession';
import { commandScript, parseSavedState, type SessionState } from '../runtime/sessionSupervisor';
import type { SandboxSession } from '../sandboxSession';
import { OneAtATime } from '../oneAtATime';
import type { ContainerRun } from './sandboxContainer';

/** At most this much saved state is read back, as the supervisor caps it. */
const STATE_CAP_BYTES = 1024 * 1024;

export interface DockerSessionOptions {
  id: string;
  sandboxId: string;
  shell: string;
  /** The sandbox's /tmp on the host. */
  tmpDir: string;
  state: SessionState;
  run: (r: ContainerRun) => Promise<RunOutcome>;
  /** Ends what the session's commands left running in the background. */
  end: () => Promise<void>;
}

export class DockerSession implements SandboxSession {
  readonly id: string;
  readonly sandboxId: string;
  readonly shell: string;
  readonly createdAt = new Date();
  closedAt?: Date;
  private state: SessionState;
  private readonly commands = new OneAtATime();
  private readonly closing = new AbortController();
  private readonly stateName: string;

  constructor(private readonly o: DockerSessionOptions) {
    this.id = o.id;
    this.sandboxId = o.sandboxId;
    this.shell = o.shell;
    this.state = o.state;
    this.stateName = `.agentfense-state-${o.id}`;
  }

  get closed(): boolean {
    return this.closedAt !== undefined;
  }

  exec(
    command: string,
    timeoutMs: number | undefined,
    sink?: OutputSink,
    abort?: AbortSignal,
  ): Promise<SessionCommandOutcome> {
    return this.commands.run(() => this.runNow(command, timeoutMs, sink, abort));
  }

  close(): void {
    if (this.closedAt) return;
    this.closedAt = new Date();
    this.closing.abort();
    // After the running command (if any) is killed: then nothing new can start in the session.
    void this.commands.run(() => this.o.end()).catch(() => {});
  }

  private async runNow(
    command: string,
    timeoutMs: number | undefined,
    sink?: OutputSink,
    abort?: AbortSignal,
  ): Promise<SessionCommandOutcome> {
    const stopped = AbortSignal.any([this.closing.signal, ...(abort ? [abort] : [])]);
    if (stopped.aborted)
      return {
        exitCode: 130,
        stdout: '',
        stderr: '',
        timedOut: false,
        aborted: true,
        durationMs: 0,
        cwd: this.state.cwd,
      };
    const outcome = await this.o.run({
      script: commandScript(this.state, `/tmp/${this.stateName}`, command),
      shell: this.shell,
      session: this.id,
      env: this.state.env,
      workdir: '/workspace',
      stdin: '',
      timeoutMs,
      sink,
      abort: stopped,
    });
    const statePath = join(this.o.tmpDir, this.stateName);
    const saved = await readSavedState(statePath);
    // The next command's state is its own: one that saves nothing keeps this one's.
    await rm(statePath, { force: true }).catch(() => {});
    if (saved) this.state = parseSavedState(saved, this.state);
    return { ...outcome, cwd: this.state.cwd };
  }
}

/** The saved state, if it is a regular file the sandbox left there (never through a link). */
async function readSavedState(path: string): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    if (!(await handle.stat()).isFile()) return undefined;
    const buf = Buffer.alloc(STATE_CAP_BYTES);
    const { bytesRead } = await handle.read(buf, 0, STATE_CAP_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
