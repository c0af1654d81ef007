/**
 * Can this host run sandboxes? Decided from facts the server observed (bwrap on PATH, its
 * version, the user-namespace sysctls, a trial sandbox), each failed check with its cause
 * and exact fix. The trial is the ground truth: a restrictive sysctl on a host where the
 * trial runs (setuid bwrap, an AppArmor profile already in place) is not a failure, and a
 * failed trial names the sysctl that explains it. Pure: no I/O, no vscode.
 */
import {
  apparmorFix,
  containerFix,
  fixInline,
  installBwrapFix,
  MIN_BWRAP_VERSION,
  remoteServerFix,
  sysctlFix,
  upgradeBwrapFix,
  type Fix,
  type SysctlName,
} from './hostFixes';

export interface HostFacts {
  platform: string;
  /** The PATH searched for bwrap. */
  searchPath: string;
  /** bwrap found on PATH; absent when there is none. */
  bwrapPath?: string;
  /** bwrapPath with symlinks resolved: the path AppArmor profiles attach to. */
  bwrapRealPath?: string;
  /** What `bwrap --version` printed, or why it could not run. */
  bwrapVersion?: { output: string } | { error: string };
  /** Raw contents of each sysctl; absent when this kernel has no such switch. */
  sysctls: Partial<Record<SysctlName, string>>;
  /** /.dockerenv or /run/.containerenv exists. */
  inContainer: boolean;
  /** Whom sandboxes run as, e.g. "uid 61000". */
  sandboxUser: string;
  /** The trial sandbox (the server's own bwrap options, running `true`); absent when not run. */
  trial?: { ok: true } | { ok: false; exitCode: number | null; output: string };
}

export type CheckId = 'platform' | 'bwrap-installed' | 'bwrap-version' | SysctlName | 'trial-sandbox' | 'docker-engine';
export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface HostCheckResult {
  id: CheckId;
  title: string;
  status: CheckStatus;
  /** What was seen. */
  detail: string;
  /** Why it stops sandboxes (failed checks). */
  cause?: string;
  fix?: Fix;
  /** A failed check whose fix is the one of this earlier check (not repeated). */
  sameFixAs?: CheckId;
}

export interface Readiness {
  ready: boolean;
  checks: HostCheckResult[];
}

/** How FAILED_PRECONDITION messages about the host begin; the extension recognises them by it. */
export const HOST_NOT_READY = 'this host cannot run sandboxes:';

/** [major, minor, patch] from `bubblewrap 0.8.0`, or undefined. */
export function parseBwrapVersion(output: string): [number, number, number] | undefined {
  const m = /\bbubblewrap\s+(\d+)\.(\d+)(?:\.(\d+))?/.exec(output);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

/** Is this bwrap version below MIN_BWRAP_VERSION? */
export function bwrapTooOld(v: [number, number, number]): boolean {
  const min = MIN_BWRAP_VERSION.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i] < min[i];
  return false;
}

/** What a failed trial's message says went wrong (bubblewrap's own wording). */
export type TrialFailure =
  'uid-map-denied' | 'userns-not-permitted' | 'userns-limit' | 'mount-denied' | 'unknown-option' | 'other';

export function classifyTrialFailure(output: string): TrialFailure {
  if (/setting up [ug]id map|write to [ug]id_map|setgroups/i.test(output)) return 'uid-map-denied';
  if (/max_\*_namespaces|nesting depth|ENOSPC/.test(output)) return 'userns-limit';
  if (
    /No permissions to creat\w* new namespace|Creating new namespace failed|unshare.*(Operation not permitted|Permission denied)/i.test(
      output,
    )
  ) {
    return 'userns-not-permitted';
  }
  if (
    /(Can't|Failed to) (mount|make|remount|bind)|mount .*(Operation not permitted|Permission denied)|pivot_root/i.test(
      output,
    )
  )
    return 'mount-denied';
  if (/Unknown option|Unrecognized option/i.test(output)) return 'unknown-option';
  return 'other';
}

interface SysctlRule {
  title: string;
  /** Does this value stop unprivileged user namespaces? */
  blocks: (value: number) => boolean;
  /** Trial failures this switch explains. */
  explains: readonly TrialFailure[];
  cause: (value: number) => string;
}

const SYSCTLS: Record<SysctlName, SysctlRule> = {
  'kernel.unprivileged_userns_clone': {
    title: 'Unprivileged user namespaces enabled (kernel.unprivileged_userns_clone)',
    blocks: (v) => v === 0,
    explains: ['userns-not-permitted', 'uid-map-denied'],
    cause: () =>
      'kernel.unprivileged_userns_clone is 0: this kernel lets only root create user namespaces, and bwrap needs one.',
  },
  'user.max_user_namespaces': {
    title: 'User namespaces allowed (user.max_user_namespaces)',
    blocks: (v) => v === 0,
    explains: ['userns-limit', 'userns-not-permitted'],
    cause: () => 'user.max_user_namespaces is 0: no user namespace can be created, and bwrap needs one.',
  },
  'kernel.apparmor_restrict_unprivileged_userns': {
    title: 'AppArmor allows bwrap user namespaces (kernel.apparmor_restrict_unprivileged_userns)',
    blocks: (v) => v !== 0,
    explains: ['uid-map-denied', 'userns-not-permitted'],
    cause: () =>
      'kernel.apparmor_restrict_unprivileged_userns is 1 (Ubuntu 23.10 and later): AppArmor lets a program use user namespaces only when a profile allows it, and none allows bwrap.',
  },
};

export function assessHost(f: HostFacts): Readiness {
  const checks: HostCheckResult[] = [];
  const trialRan = f.trial !== undefined;
  const trialOk = f.trial?.ok === true;

  const linux = f.platform === 'linux';
  checks.push({
    id: 'platform',
    title: 'Linux',
    status: linux ? 'pass' : 'fail',
    detail: f.platform,
    ...(linux
      ? {}
      : {
          cause: `sandboxes are bubblewrap (Linux namespaces); this is ${f.platform}.`,
          fix: remoteServerFix('use a remote AgentFense server'),
        }),
  });

  checks.push(
    f.bwrapPath
      ? { id: 'bwrap-installed', title: 'bubblewrap installed', status: 'pass', detail: f.bwrapPath }
      : {
          id: 'bwrap-installed',
          title: 'bubblewrap installed',
          status: 'fail',
          detail: `no bwrap on PATH (${f.searchPath || 'empty'})`,
          cause: 'bubblewrap (bwrap) is not installed, or not on the PATH the server started with.',
          fix: installBwrapFix(),
        },
  );

  const versionTitle = `bubblewrap ${MIN_BWRAP_VERSION} or newer`;
  let versionTooOld = false;
  if (!f.bwrapPath || !f.bwrapVersion) {
    checks.push({ id: 'bwrap-version', title: versionTitle, status: 'skip', detail: 'no bwrap to ask' });
  } else if ('error' in f.bwrapVersion) {
    checks.push({
      id: 'bwrap-version',
      title: versionTitle,
      status: 'fail',
      detail: `\`${f.bwrapPath} --version\` failed: ${f.bwrapVersion.error}`,
      cause: `${f.bwrapPath} does not run (\`bwrap --version\` failed); the installation is broken.`,
      fix: installBwrapFix(),
    });
    versionTooOld = true;
  } else {
    const v = parseBwrapVersion(f.bwrapVersion.output);
    const printed = f.bwrapVersion.output.trim().split('\n')[0] ?? '';
    if (!v) {
      checks.push({
        id: 'bwrap-version',
        title: versionTitle,
        status: 'skip',
        detail: `no version in ${JSON.stringify(printed)}; the trial sandbox decides`,
      });
    } else if (bwrapTooOld(v)) {
      versionTooOld = true;
      checks.push({
        id: 'bwrap-version',
        title: versionTitle,
        status: 'fail',
        detail: printed,
        cause: `bubblewrap ${v.join('.')} is older than ${MIN_BWRAP_VERSION}: it does not know --size, which every sandbox uses (to bound /dev/shm).`,
        fix: upgradeBwrapFix(),
      });
    } else {
      checks.push({ id: 'bwrap-version', title: versionTitle, status: 'pass', detail: printed });
    }
  }

  const failedSysctls: { id: SysctlName; rule: SysctlRule }[] = [];
  for (const [id, rule] of Object.entries(SYSCTLS) as [SysctlName, SysctlRule][]) {
    const raw = f.sysctls[id];
    if (raw === undefined) {
      checks.push({ id, title: rule.title, status: 'pass', detail: 'not present on this kernel (nothing to change)' });
      continue;
    }
    const text = raw.trim();
    if (!/^-?\d+$/.test(text)) {
      checks.push({
        id,
        title: rule.title,
        status: 'skip',
        detail: `unreadable value ${JSON.stringify(text)}; the trial sandbox decides`,
      });
      continue;
    }
    const value = Number(text);
    if (!rule.blocks(value)) {
      checks.push({ id, title: rule.title, status: 'pass', detail: `${id} = ${value}` });
    } else if (trialOk) {
      checks.push({
        id,
        title: rule.title,
        status: 'pass',
        detail: `${id} = ${value}, but the trial sandbox ran: bwrap is allowed anyway (setuid, or a profile)`,
      });
    } else {
      failedSysctls.push({ id, rule });
      const fix =
        id === 'kernel.apparmor_restrict_unprivileged_userns'
          ? apparmorFix(f.bwrapRealPath ?? f.bwrapPath ?? '/usr/bin/bwrap')
          : sysctlFix(id);
      checks.push({ id, title: rule.title, status: 'fail', detail: `${id} = ${value}`, cause: rule.cause(value), fix });
    }
  }

  checks.push(trialCheck(f, trialRan, versionTooOld, failedSysctls));
  return { ready: checks.every((c) => c.status !== 'fail'), checks };
}

function trialCheck(
  f: HostFacts,
  ran: boolean,
  versionTooOld: boolean,
  failedSysctls: { id: SysctlName; rule: SysctlRule }[],
): HostCheckResult {
  const title = `A trial sandbox starts (bwrap as ${f.sandboxUser})`;
  if (!ran || !f.trial) {
    const why = !f.bwrapPath ? 'no bwrap to run' : versionTooOld ? 'bwrap is unusable (see above)' : 'not run';
    return { id: 'trial-sandbox', title, status: 'skip', detail: why };
  }
  if (f.trial.ok) return { id: 'trial-sandbox', title, status: 'pass', detail: 'started and exited 0' };
  const said = f.trial.output.trim() || `exit code ${f.trial.exitCode}, no message`;
  const firstLine = said.split('\n').find((l) => l.trim() !== '') ?? said;
  const base = { id: 'trial-sandbox' as const, title, status: 'fail' as const, detail: `bwrap said: ${firstLine}` };
  const kind = classifyTrialFailure(said);
  const userns = kind === 'uid-map-denied' || kind === 'userns-not-permitted' || kind === 'userns-limit';
  const explaining =
    failedSysctls.find((s) => s.rule.explains.includes(kind)) ?? (userns ? failedSysctls[0] : undefined);
  if (explaining) {
    return {
      ...base,
      cause: `the kernel refused bwrap a user namespace, as ${explaining.id} predicts.`,
      sameFixAs: explaining.id,
    };
  }
  if (kind === 'userns-limit') {
    return {
      ...base,
      cause: 'the limit on user namespaces is reached (user.max_user_namespaces here or in an enclosing namespace).',
      fix: sysctlFix('user.max_user_namespaces'),
    };
  }
  if (userns && f.inContainer) {
    return {
      ...base,
      cause:
        'the kernel refused bwrap a user namespace inside this container (its seccomp or AppArmor profile, or the host).',
      fix: containerFix(),
    };
  }
  if (kind === 'uid-map-denied' && f.sysctls['kernel.apparmor_restrict_unprivileged_userns'] !== undefined) {
    return {
      ...base,
      cause: 'AppArmor refused bwrap the uid map of its user namespace.',
      fix: apparmorFix(f.bwrapRealPath ?? f.bwrapPath ?? '/usr/bin/bwrap'),
    };
  }
  if (userns) {
    return {
      ...base,
      cause: `the kernel refused bwrap a user namespace for ${f.sandboxUser} (a security module or a kernel setting).`,
      fix: sysctlFix(
        f.sysctls['kernel.unprivileged_userns_clone'] !== undefined
          ? 'kernel.unprivileged_userns_clone'
          : 'user.max_user_namespaces',
      ),
    };
  }
  if (kind === 'mount-denied') {
    return {
      ...base,
      cause: f.inContainer
        ? 'bwrap could not mount inside this container: /proc is masked or mounts are filtered by its profile.'
        : "bwrap could not set up the sandbox's mounts (a security module refused a mount).",
      fix: f.inContainer ? containerFix() : remoteServerFix("see bwrap's message; or use a remote AgentFense server"),
    };
  }
  if (kind === 'unknown-option') {
    return { ...base, cause: 'this bwrap does not know an option every sandbox uses.', fix: upgradeBwrapFix() };
  }
  return {
    ...base,
    cause: `bwrap could not start a sandbox: ${firstLine}`,
    fix: remoteServerFix("see bwrap's message; or use a remote AgentFense server"),
  };
}

/** The FAILED_PRECONDITION text: every failed check's cause and fix, on one line each. */
export function notReadyMessage(r: Readiness): string {
  const failed = r.checks.filter((c) => c.status === 'fail' && !c.sameFixAs);
  const parts = failed.map((c) => `${c.title}: ${c.cause ?? c.detail}${c.fix ? ` Fix: ${fixInline(c.fix)}.` : ''}`);
  return `${HOST_NOT_READY} ${parts.join(' ')} (\`node dist/server.js --check\` or "AgentFense: Check Environment" shows every check.)`;
}

/** What the Docker engine of Docker sandboxes answered (`--docker-host`, DOCKER_HOST, /var/run/docker.sock). */
export type DockerEngineFact = { socket: string } & ({ version: string; storageDriver: string } | { error: string });

/**
 * The Docker engine, reported but never a reason the host is not ready: bubblewrap sandboxes
 * need none, and a Docker sandbox asked for without one fails saying how to start it.
 */
export function dockerEngineCheck(f: DockerEngineFact): HostCheckResult {
  const title = 'Docker engine (for Docker sandboxes)';
  if ('version' in f)
    return {
      id: 'docker-engine',
      title,
      status: 'pass',
      detail: `Docker ${f.version} (${f.storageDriver}) at ${f.socket}`,
    };
  return {
    id: 'docker-engine',
    title,
    status: 'skip',
    detail: `none answers at ${f.socket}: presets and tasks with "runtime": "docker" cannot run (${f.error})`,
  };
}
