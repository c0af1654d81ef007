/**
 * The runtimes a runtime-parameterised suite runs under: bubblewrap always, Docker on a private
 * engine (scripts/privateDockerd.mjs: its own dockerd in a temp dir, no bridge, no iptables,
 * never a system Docker) with the tools image imported into it.
 *
 *   for (const runtime of RUNTIMES)
 *     describe(runtime.name, runtime.skip, () => {
 *       let server: TestServer;
 *       before(async () => {
 *         const setup = await runtime.setUp();
 *         server = await startServer({ args: setup.serverArgs, sandboxDefaults: setup.sandbox });
 *       });
 *       after(async () => { await server.stop(); await runtime.tearDown(); });
 *     });
 *
 * As root the suite starts its own dockerd. An unprivileged run cannot; `npm test` (as root)
 * starts one for the unprivileged pass, with its socket in that user's group, and hands it over
 * in AGENTFENSE_TEST_DOCKER_SOCKET.
 */
import type { CreateSandboxRequest } from '../../src/generated/sandbox';
import { RuntimeType } from '../../src/generated/sandbox';
import {
  dockerdPath,
  importToolsImage,
  startPrivateDockerd,
  type PrivateDockerd,
} from '../../scripts/privateDockerd.mjs';
import { AS_ROOT } from './privileges';

export interface RuntimeSetup {
  /** Flags for the server (`--docker-host …`). */
  serverArgs: string[];
  /** Fields every CreateSandbox of the suite carries (runtime, image). */
  sandbox: Partial<CreateSandboxRequest>;
}

export interface TestRuntime {
  name: 'bubblewrap' | 'docker';
  /** describe()'s options: skipped, with the reason, where this runtime cannot run. */
  skip: { skip: string | false };
  setUp(): Promise<RuntimeSetup>;
  tearDown(): Promise<void>;
}

/** An engine handed over by `npm test` (the unprivileged pass). */
export const GIVEN_DOCKER_SOCKET = process.env.AGENTFENSE_TEST_DOCKER_SOCKET || undefined;

function dockerSkipReason(): string | false {
  if (GIVEN_DOCKER_SOCKET) return false;
  if (!dockerdPath()) return 'no Docker engine: apt-get install -y docker.io (npm test installs it)';
  if (!AS_ROOT) return 'a private dockerd needs root; npm test hands one to its unprivileged pass';
  return false;
}

export const BUBBLEWRAP: TestRuntime = {
  name: 'bubblewrap',
  skip: { skip: false },
  setUp: () => Promise.resolve({ serverArgs: [], sandbox: {} }),
  tearDown: () => Promise.resolve(),
};

/** A private engine for one suite (or the given one), with the tools image in it. */
export class DockerTestRuntime implements TestRuntime {
  readonly name = 'docker';
  readonly skip = { skip: dockerSkipReason() };
  private engine: PrivateDockerd | undefined;
  socket = '';
  image = '';

  async setUp(): Promise<RuntimeSetup> {
    if (!this.socket) {
      if (GIVEN_DOCKER_SOCKET) this.socket = GIVEN_DOCKER_SOCKET;
      else {
        this.engine = await startPrivateDockerd();
        this.socket = this.engine.socket;
      }
      this.image = await importToolsImage(this.socket);
    }
    return {
      serverArgs: ['--docker-host', `unix://${this.socket}`],
      sandbox: { runtime: RuntimeType.RUNTIME_TYPE_DOCKER, image: this.image },
    };
  }

  async tearDown(): Promise<void> {
    await this.engine?.stop();
    this.engine = undefined;
    this.socket = '';
  }
}

export const DOCKER = new DockerTestRuntime();

/** Every runtime a parameterised suite covers, in order. */
export const RUNTIMES: readonly TestRuntime[] = [BUBBLEWRAP, DOCKER];
