/**
 * One command in a Docker sandbox: a Docker exec of `agentfense-init run` (containerInit.c),
 * which runs the script with /bin/sh and kills whatever the command left behind when it ends
 * (a session's command: `session-run`, whose background jobs live until the session ends).
 * Output is streamed to a sink that may push back (ExecStream) or collected (Exec); the exit
 * status is the engine's inspection of the runner, which sandboxed code cannot forge. A
 * timeout or cancellation sends SIGTERM to the runner's host pid: it kills the command's whole
 * tree and exits 137.
 */
import type Docker from 'dockerode';
import type { Duplex } from 'node:stream';
import {
  CappedOutput,
  feedStdin,
  type CommandInput,
  type OutputSink,
  type RunOutcome,
  type StreamName,
} from '../runtime/commandRunner';
import type { LaunchGate, Release } from '../runtime/launchGate';
import { killQuietly } from '../runtime/processTree';
import { DockerFrames } from './dockerFrames';
import { INIT_IN_CONTAINER } from './containerConfig';
import { errorText, statusOf } from './dockerEngine';
import { failedPrecondition } from '../../rpc/rpcError';

export interface ContainerCommand {
  container: Docker.Container;
  /** The shell script the runner gives /bin/sh. */
  script: string;
  /** The shell that runs the script (the runner's default: /bin/sh). */
  shell?: string;
  /** A session's command: what it starts in the background lives on until the session ends. */
  session?: string;
  env: Readonly<Record<string, string>>;
  workdir: string;
  /** `uid:gid`. */
  user: string;
  stdin: CommandInput;
  gate: LaunchGate;
  timeoutMs?: number;
  sink?: OutputSink;
  abort?: AbortSignal;
}

/** How long the runner gets to kill its tree after SIGTERM before it is killed itself. */
const KILL_GRACE_MS = 2000;
const KILLED_EXIT = 128 + 9;

export async function runInContainer(c: ContainerCommand): Promise<RunOutcome> {
  let release: Release;
  try {
    release = await c.gate.acquire(c.abort);
  } catch {
    return { exitCode: KILLED_EXIT, stdout: '', stderr: '', timedOut: false, aborted: true, durationMs: 0 };
  }
  try {
    return await runAcquired(c);
  } finally {
    release();
  }
}

async function runAcquired(c: ContainerCommand): Promise<RunOutcome> {
  const started = performance.now();
  const exec = await createExec(c);
  const stream = (await exec.start({ hijack: true, stdin: true })) as Duplex;
  const out = { stdout: new CappedOutput(), stderr: new CappedOutput() };
  let timedOut = false;
  let aborted = false;
  let discarding = false;

  const frames = new DockerFrames((name: StreamName, data: Buffer) => {
    if (discarding) return;
    if (!c.sink) return out[name].push(data);
    if (!c.sink.write(name, data)) {
      stream.pause();
      c.sink.onceDrain(() => stream.resume());
    }
  });
  stream.on('data', (chunk: Buffer) => frames.push(chunk));
  stream.on('error', () => {});

  let killing: Promise<void> | undefined;
  const kill = () => {
    // Output of a killed command goes nowhere, but the stream is still read to its end.
    discarding = true;
    stream.resume();
    killing ??= killRunner(exec);
  };
  const timer =
    c.timeoutMs && c.timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          kill();
        }, c.timeoutMs)
      : undefined;
  const onAbort = () => {
    aborted = true;
    kill();
  };
  if (c.abort?.aborted) onAbort();
  else c.abort?.addEventListener('abort', onAbort, { once: true });

  try {
    const ended = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
    });
    feedStdin(stream, c.stdin);
    await ended;
    await killing;
    return {
      exitCode: await exitCodeOf(exec),
      stdout: out.stdout.text(),
      stderr: out.stderr.text(),
      timedOut,
      aborted,
      durationMs: performance.now() - started,
    };
  } finally {
    clearTimeout(timer);
    c.abort?.removeEventListener('abort', onAbort);
  }
}

/** The exec of the runner; a container that is gone or stopped is the sandbox's, not the caller's, problem. */
async function createExec(c: ContainerCommand): Promise<Docker.Exec> {
  const env = Object.entries(c.env).map(([k, v]) => `${k}=${v}`);
  try {
    return await c.container.exec({
      Cmd: runnerArgs(c),
      Env: [...env, `AGENTFENSE_SCRIPT=${c.script}`],
      WorkingDir: c.workdir,
      User: c.user,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
  } catch (err) {
    const code = statusOf(err);
    if (code === 404 || code === 409)
      throw failedPrecondition(
        `the sandbox's container is gone or stopped (${errorText(err)}); stop and start the sandbox to get a new one`,
      );
    throw err;
  }
}

function runnerArgs(c: ContainerCommand): string[] {
  if (c.session) return [INIT_IN_CONTAINER, 'session-run', c.session, c.shell ?? '/bin/sh'];
  return c.shell ? [INIT_IN_CONTAINER, 'run', c.shell] : [INIT_IN_CONTAINER, 'run'];
}

/** SIGTERM to the runner (it kills its tree), SIGKILL if it is still there after a grace period. */
async function killRunner(exec: Docker.Exec): Promise<void> {
  const pid = await runnerPid(exec);
  if (pid === undefined) return;
  killQuietly(pid, 'SIGTERM');
  const deadline = Date.now() + KILL_GRACE_MS;
  while (Date.now() < deadline) {
    const info = await exec.inspect().catch(() => undefined);
    if (!info?.Running) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  killQuietly(pid);
}

/** The runner's host pid once it runs; undefined when it has already ended. */
async function runnerPid(exec: Docker.Exec): Promise<number | undefined> {
  for (;;) {
    const info = await exec.inspect().catch(() => undefined);
    if (!info) return undefined;
    if (info.Pid > 0 && info.Running) return info.Pid;
    if (!info.Running && info.ExitCode !== null) return undefined;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The runner's exit status; the engine may report the end a moment after the stream closes. */
async function exitCodeOf(exec: Docker.Exec): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) return info.ExitCode;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('the Docker engine did not report the command’s exit status');
}
