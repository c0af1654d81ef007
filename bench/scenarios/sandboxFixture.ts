/**
 * A started sandbox on the shared codebase plus the matching bare-bwrap command line,
 * for the scenarios that compare the two. Destroyed by the caller.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from '../context';
import { argvFromServerLog, mirroredBwrapArgv } from '../bareBwrap';
import { spawnChecked } from '../baselines';

export interface SandboxFixture {
  sandboxId: string;
  /** argv of the bare-bwrap baseline for `command`. */
  bareArgv(command: string): string[];
  /** Where the baseline's argv came from: the server's log, or our mirror of its flags. */
  bareArgvSource: 'server-log' | 'mirror';
  destroy(): Promise<void>;
}

export async function startedSandbox(ctx: BenchContext, preset = 'agent-safe'): Promise<SandboxFixture> {
  const server = await ctx.server();
  const shared = await ctx.sharedCodebase();
  const sb = await server.rpc.createSandbox(shared.codebaseId, preset);
  await server.rpc.startSandbox(sb.id);
  // One exec so the server has run (and, if it logs it, printed) a real bwrap command line.
  await server.rpc.exec(sb.id, 'true');
  const logged = argvFromServerLog(server.log(), 'true');
  // agent-safe's writable roots are output/ and tmp/; bwrap needs the mount points to exist.
  const bare = { workspaceDir: shared.workspace.root, tmpDir: ctx.path('bare-bwrap', 'tmp'), writableDirs: {} as Record<string, string> };
  for (const root of ['output', 'tmp']) {
    bare.writableDirs[root] = ctx.path('bare-bwrap', root);
    mkdirSync(bare.writableDirs[root]!, { recursive: true });
    mkdirSync(join(shared.workspace.root, root), { recursive: true });
  }
  mkdirSync(bare.tmpDir, { recursive: true });
  const bareArgv = logged
    ? (command: string) => argvFromServerLog(server.log(), command)!
    : (command: string) => mirroredBwrapArgv(bare, command);
  // A baseline that fails would look fast: check it runs before timing it.
  await spawnChecked(bareArgv('true'));
  return {
    sandboxId: sb.id,
    bareArgv,
    bareArgvSource: logged ? 'server-log' : 'mirror',
    destroy: () => server.rpc.destroySandbox(sb.id),
  };
}
