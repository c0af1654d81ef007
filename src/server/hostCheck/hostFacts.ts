/**
 * Observes the host for assessHost: bwrap on PATH, `bwrap --version`, the user-namespace
 * sysctls, container markers, and the trial sandbox. All asynchronous, so the server keeps
 * serving while it runs. AGENTFENSE_PROC_SYS names another directory to read the sysctls
 * from (tests write real files there); the default is /proc/sys.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import type { SysctlName } from '../../shared/hostFixes';
import { bwrapTooOld, parseBwrapVersion, type HostFacts } from '../../shared/hostReadiness';
import type { SandboxIdentity } from '../sandbox/sandboxIdentity';
import { bwrapOnPath, searchPath } from '../sandbox/runtime/bwrapOnPath';
import { runTrialSandbox } from './trialSandbox';

const SYSCTL_FILES: Record<SysctlName, string> = {
  'kernel.unprivileged_userns_clone': 'kernel/unprivileged_userns_clone',
  'user.max_user_namespaces': 'user/max_user_namespaces',
  'kernel.apparmor_restrict_unprivileged_userns': 'kernel/apparmor_restrict_unprivileged_userns',
};

export function procSysDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.AGENTFENSE_PROC_SYS || '/proc/sys';
}

async function readSysctls(dir: string): Promise<HostFacts['sysctls']> {
  const out: HostFacts['sysctls'] = {};
  await Promise.all(
    (Object.entries(SYSCTL_FILES) as [SysctlName, string][]).map(async ([name, file]) => {
      try {
        out[name] = await fs.readFile(join(dir, file), 'utf8');
      } catch (e) {
        // Absent: this kernel has no such switch. Unreadable: say so rather than guess.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') out[name] = `unreadable (${(e as Error).message})`;
      }
    }),
  );
  return out;
}

function bwrapVersion(bwrap: string, signal?: AbortSignal): Promise<HostFacts['bwrapVersion']> {
  return new Promise((resolve) => {
    execFile(bwrap, ['--version'], { timeout: 10_000, env: {}, signal }, (error, stdout, stderr) => {
      if (error) resolve({ error: (stderr.trim() || error.message).split('\n')[0] });
      else resolve({ output: stdout.trim() || stderr.trim() });
    });
  });
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

export async function gatherHostFacts(identity: SandboxIdentity, signal?: AbortSignal): Promise<HostFacts> {
  const path = searchPath();
  const bwrapPath = process.platform === 'linux' ? bwrapOnPath(path) : undefined;
  const [version, sysctls, dockerenv, containerenv] = await Promise.all([
    bwrapPath ? bwrapVersion(bwrapPath, signal) : undefined,
    readSysctls(procSysDir()),
    exists('/.dockerenv'),
    exists('/run/.containerenv'),
  ]);
  const parsed = version && 'output' in version ? parseBwrapVersion(version.output) : undefined;
  const tooOld = parsed !== undefined && bwrapTooOld(parsed);
  // A bwrap that cannot print its version, or is too old, would only fail the trial again.
  const usable = bwrapPath && version && 'output' in version && !tooOld;
  const trial = usable ? await runTrialSandbox(bwrapPath, identity, signal) : undefined;
  return {
    platform: process.platform,
    searchPath: path,
    bwrapPath,
    bwrapRealPath: bwrapPath ? await fs.realpath(bwrapPath).catch(() => bwrapPath) : undefined,
    bwrapVersion: version,
    sysctls,
    inContainer: dockerenv || containerenv,
    sandboxUser: identity.serverIsRoot ? `uid ${identity.uid}` : `uid ${identity.uid} (the server's own user)`,
    trial,
  };
}
