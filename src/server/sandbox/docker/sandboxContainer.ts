/**
 * The container of one running Docker sandbox, for one state of its view: its binds are fixed
 * when it is created, so a refresh of the view (a new codebase version) replaces it. Commands
 * run as Docker execs through the runner (dockerExec.ts) with the image's environment under
 * the request's.
 */
import type Docker from 'dockerode';
import type { DockerEngine } from './dockerEngine';
import { containerConfig, containerName, INIT_IN_CONTAINER, type ContainerSpec } from './containerConfig';
import { errorText, statusOf } from './dockerEngine';
import { runInContainer } from './dockerExec';
import type { CommandInput, OutputSink, RunOutcome } from '../runtime/commandRunner';
import type { LaunchGate } from '../runtime/launchGate';
import { failedPrecondition } from '../../rpc/rpcError';

export interface ContainerRun {
  script: string;
  env: Readonly<Record<string, string>>;
  workdir: string;
  stdin: CommandInput;
  /** The shell that runs the script (default /bin/sh). */
  shell?: string;
  /** The session whose command this is (its background jobs live until the session ends). */
  session?: string;
  timeoutMs?: number;
  sink?: OutputSink;
  abort?: AbortSignal;
}

/** What the image sets, under what every sandbox command gets (as bubblewrap's BASE_ENV does). */
export function containerBaseEnv(imageEnv: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of imageEnv) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  env.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  env.LANG ??= 'C.UTF-8';
  env.HOME = '/tmp';
  env.TERM = 'xterm-256color';
  return env;
}

export class SandboxContainer {
  private constructor(
    private readonly container: Docker.Container,
    private readonly user: string,
    readonly baseEnv: Readonly<Record<string, string>>,
    private readonly gate: LaunchGate,
  ) {}

  /** Creates and starts the sandbox's container (a leftover of the same name goes first). */
  static async start(engine: DockerEngine, spec: ContainerSpec, gate: LaunchGate): Promise<SandboxContainer> {
    const imageEnv = await engine.ensureImage(spec.image);
    const name = containerName(spec.sandboxId);
    await removeQuietly(engine.api.getContainer(name));
    let container: Docker.Container;
    try {
      container = await engine.api.createContainer(containerConfig(spec));
    } catch (err) {
      throw statusOf(err) === undefined ? engine.unreachable(err) : containerFailed('create', spec.image, err);
    }
    try {
      await container.start();
    } catch (err) {
      await removeQuietly(container);
      throw containerFailed('start', spec.image, err);
    }
    return new SandboxContainer(container, `${spec.user.uid}:${spec.user.gid}`, containerBaseEnv(imageEnv), gate);
  }

  run(r: ContainerRun): Promise<RunOutcome> {
    return runInContainer({
      container: this.container,
      script: r.script,
      shell: r.shell,
      session: r.session,
      env: r.env,
      workdir: r.workdir,
      user: this.user,
      stdin: r.stdin,
      gate: this.gate,
      timeoutMs: r.timeoutMs,
      sink: r.sink,
      abort: r.abort,
    });
  }

  /** Ends a session's background jobs (its keepers kill their trees; containerInit.c). */
  async endSession(sessionId: string): Promise<void> {
    const exec = await this.container.exec({
      Cmd: [INIT_IN_CONTAINER, 'session-end', sessionId],
      User: this.user,
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    await new Promise<void>((resolve) => {
      stream.on('data', () => {});
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
  }

  /** Kills everything in it and removes it. */
  remove(): Promise<void> {
    return removeQuietly(this.container);
  }
}

async function removeQuietly(container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true });
  } catch (err) {
    // Gone already (404), or being removed (409): either way it will not run again.
    if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
  }
}

function containerFailed(what: string, image: string, err: unknown) {
  return failedPrecondition(`the Docker engine could not ${what} a container from ${image}: ${errorText(err)}`);
}
