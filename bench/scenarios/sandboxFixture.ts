/**
 * A started sandbox on the shared codebase plus the matching bare-bwrap command line,
 * for the scenarios that compare the two. Destroyed by the caller.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from '../context';
import { captureServerBwrapArgv, mirroredBwrapArgv, serverLikeSpawnOptions, withCommand } from '../bareBwrap';
import { spawnChecked, type SpawnOptions } from '../baselines';

export interface SandboxFixture {
  sandboxId: string;
  /** argv of the bare-bwrap baseline for `command`. */
  bareArgv(command: string): string[];
  /**
   * The host folder the server mounts read-only at /workspace (its view: hard links to the
   * codebase's blobs), when its bwrap argv was seen. Native baselines read the very same
   * inodes from here, so sandbox and native compare the same page-cache pages.
   */
  viewDir?: string;
  /** How the server spawns bwrap (uid, env, cwd, stdin): the baseline spawns the same way. */
  bareSpawnOptions: SpawnOptions;
  /** Where the baseline's argv came from: the server's running bwrap (/proc), or our mirror of its flags. */
  bareArgvSource: 'server-process' | 'mirror';
  destroy(): Promise<void>;
}

export async function startedSandbox(ctx: BenchContext, preset = 'agent-safe'): Promise<SandboxFixture> {
  const server = await ctx.server();
  const shared = await ctx.sharedCodebase();
  const sb = await server.rpc.createSandbox(shared.codebaseId, preset);
  await server.rpc.startSandbox(sb.id);
  const marker = 'sleep 0.5';
  const captured = await captureServerBwrapArgv(server.pid, () => server.rpc.exec(sb.id, marker), marker);
  let bareArgv: (command: string) => string[];
  if (captured) {
    bareArgv = (command) => withCommand(captured, command);
  } else {
    ctx.log("could not see the server's bwrap argv in /proc; using the mirrored flags");
    // agent-safe's writable roots are output/ and tmp/; bwrap needs the mount points to exist.
    const bare = {
      workspaceDir: shared.workspace.root,
      tmpDir: ctx.path('bare-bwrap', 'tmp'),
      writableDirs: {} as Record<string, string>,
    };
    for (const root of ['output', 'tmp']) {
      bare.writableDirs[root] = ctx.path('bare-bwrap', root);
      mkdirSync(bare.writableDirs[root]!, { recursive: true });
      mkdirSync(join(shared.workspace.root, root), { recursive: true });
    }
    mkdirSync(bare.tmpDir, { recursive: true });
    bareArgv = (command) => mirroredBwrapArgv(bare, command);
  }
  // A baseline that fails would look fast: check it runs before timing it.
  const spawnOptions = serverLikeSpawnOptions();
  await spawnChecked(bareArgv('true'), spawnOptions);
  return {
    sandboxId: sb.id,
    bareArgv,
    bareSpawnOptions: spawnOptions,
    viewDir: captured ? viewDirOf(captured) : undefined,
    bareArgvSource: captured ? 'server-process' : 'mirror',
    destroy: () => server.rpc.destroySandbox(sb.id),
  };
}

/** The source of `--ro-bind SRC /workspace` in a bwrap argv. */
function viewDirOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i + 2 < argv.length; i++) {
    if (argv[i] === '--ro-bind' && argv[i + 2] === '/workspace') return argv[i + 1];
  }
  return undefined;
}
