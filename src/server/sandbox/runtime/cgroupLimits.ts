/**
 * Resource limits through cgroups: one cgroup per sandbox and controller, below the server's
 * own cgroup (so the host's limits on the server still bound its sandboxes), in
 * `<controller>/<server cgroup>/agentfense/<data-dir hash>/<sandbox-id>/`: several servers
 * (other data dirs) may share a cgroup, and each cleans up only its own. cgroup v1 (this host's hybrid
 * layout) and v2 (when the server's cgroup is delegated to it). A limit that cannot be
 * enforced is refused, never silently dropped.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { failedPrecondition, invalidArgument } from '../../rpc/rpcError';
import type { SandboxIdentity } from '../sandboxIdentity';

export interface ResourceLimitValues {
  memoryBytes: number;
  cpuQuota: number;
  cpuShares: number;
  pidsLimit: number;
}

const MiB = 1 << 20;
const CPU_PERIOD_US = 100_000;

export function hasLimits(l: ResourceLimitValues | undefined): l is ResourceLimitValues {
  return !!l && (l.memoryBytes > 0 || l.cpuQuota > 0 || l.cpuShares > 0 || l.pidsLimit > 0);
}

/** Range checks; 0 means "no limit". */
export function validateLimits(l: ResourceLimitValues): void {
  const check = (name: string, value: number, min: number, max: number, why: string) => {
    if (!Number.isSafeInteger(value) || value < 0)
      throw invalidArgument(`${name} must be a non-negative integer, got ${value}`);
    if (value !== 0 && (value < min || value > max))
      throw invalidArgument(`${name} ${value} is out of range (${min}..${max}; ${why})`);
  };
  check(
    'resources.memory_bytes',
    l.memoryBytes,
    8 * MiB,
    2 ** 50,
    'at least 8 MiB: the shell and bwrap need some memory',
  );
  check('resources.cpu_quota', l.cpuQuota, 1000, CPU_PERIOD_US * 1024, 'microseconds of CPU per 100 ms period');
  check('resources.cpu_shares', l.cpuShares, 2, 262_144, 'the kernel accepts 2..262144');
  check('resources.pids_limit', l.pidsLimit, 8, 4_194_304, 'at least 8: bwrap and the shell need a few processes');
}

type Controller = 'memory' | 'pids' | 'cpu';

interface Layout {
  version: 1 | 2;
  /** v1: parent dir per controller; v2: one parent dir. */
  parents: Partial<Record<Controller, string>>;
  problems: Partial<Record<Controller, string>>;
}

export class CgroupLimits {
  private readonly layout: Layout;

  /** `scope` names this server's subtree (a hash of its data dir). */
  constructor(
    private readonly identity: SandboxIdentity,
    scope: string,
  ) {
    this.layout = detectLayout(identity, scope);
  }

  /** FAILED_PRECONDITION naming the first requested limit this host cannot enforce. */
  checkEnforceable(l: ResourceLimitValues): void {
    const wanted: [Controller, string, number][] = [
      ['memory', 'memory_bytes', l.memoryBytes],
      ['pids', 'pids_limit', l.pidsLimit],
      ['cpu', 'cpu_quota', l.cpuQuota],
      ['cpu', 'cpu_shares', l.cpuShares],
    ];
    for (const [ctrl, name, value] of wanted) {
      if (value > 0 && !this.layout.parents[ctrl]) {
        throw failedPrecondition(
          `resources.${name} cannot be enforced on this host: ${this.layout.problems[ctrl] ?? `no ${ctrl} cgroup controller`}`,
        );
      }
    }
  }

  /**
   * The part of `l` this host can enforce, and why the rest cannot be: for defaults, which
   * apply where they can (explicit limits go through checkEnforceable and are refused).
   */
  enforceablePart(l: ResourceLimitValues): { limits: ResourceLimitValues; dropped: string[] } {
    const limits = { ...l };
    const dropped: string[] = [];
    const drop = (ctrl: Controller, field: keyof ResourceLimitValues, name: string) => {
      if (limits[field] > 0 && !this.layout.parents[ctrl]) {
        dropped.push(`${name}: ${this.layout.problems[ctrl] ?? `no ${ctrl} cgroup controller`}`);
        limits[field] = 0;
      }
    };
    drop('memory', 'memoryBytes', 'memory');
    drop('pids', 'pidsLimit', 'pids');
    drop('cpu', 'cpuQuota', 'cpu quota');
    drop('cpu', 'cpuShares', 'cpu shares');
    return { limits, dropped };
  }

  /** Creates the sandbox's cgroups; returns the cgroup.procs files a process must join. */
  create(sandboxId: string, l: ResourceLimitValues): string[] {
    this.checkEnforceable(l);
    const procs: string[] = [];
    const make = (ctrl: Controller, settings: [string, string][]) => {
      const dir = join(this.layout.parents[ctrl]!, sandboxId);
      fs.mkdirSync(dir, { recursive: true });
      for (const [file, value] of settings) {
        const p = join(dir, file);
        if (file.includes('memsw') && !fs.existsSync(p)) continue;
        fs.writeFileSync(p, value);
      }
      for (const f of ['cgroup.procs', 'tasks']) {
        const p = join(dir, f);
        if (fs.existsSync(p) && this.identity.serverIsRoot) fs.chownSync(p, this.identity.uid, this.identity.gid);
      }
      if (!procs.includes(join(dir, 'cgroup.procs'))) procs.push(join(dir, 'cgroup.procs'));
    };
    const v2 = this.layout.version === 2;
    if (l.memoryBytes > 0) {
      make(
        'memory',
        v2
          ? [
              ['memory.max', String(l.memoryBytes)],
              ['memory.swap.max', '0'],
            ]
          : [
              ['memory.limit_in_bytes', String(l.memoryBytes)],
              ['memory.memsw.limit_in_bytes', String(l.memoryBytes)],
            ],
      );
    }
    if (l.pidsLimit > 0) make('pids', [['pids.max', String(l.pidsLimit)]]);
    if (l.cpuQuota > 0 || l.cpuShares > 0) {
      const s: [string, string][] = [];
      if (v2) {
        if (l.cpuQuota > 0) s.push(['cpu.max', `${l.cpuQuota} ${CPU_PERIOD_US}`]);
        if (l.cpuShares > 0)
          s.push(['cpu.weight', String(Math.max(1, Math.min(10000, Math.round((l.cpuShares * 100) / 1024))))]);
      } else {
        if (l.cpuQuota > 0)
          s.push(['cpu.cfs_period_us', String(CPU_PERIOD_US)], ['cpu.cfs_quota_us', String(l.cpuQuota)]);
        if (l.cpuShares > 0) s.push(['cpu.shares', String(l.cpuShares)]);
      }
      make('cpu', s);
    }
    return procs;
  }

  remove(sandboxId: string): void {
    for (const parent of new Set(Object.values(this.layout.parents))) removeCgroup(join(parent, sandboxId));
  }

  /** Cgroups of sandboxes from an earlier run of the server. */
  removeStale(): void {
    for (const parent of new Set(Object.values(this.layout.parents))) {
      let names: string[] = [];
      try {
        names = fs
          .readdirSync(parent, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => d.name);
      } catch {
        continue;
      }
      for (const name of names) if (name.startsWith('sb_')) removeCgroup(join(parent, name));
    }
  }
}

function removeCgroup(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      for (const pid of fs.readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone
        }
      }
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); // let the kernel reap
    }
  }
}

function ownCgroupPaths(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, path] = line.split(':');
    if (path === undefined) continue;
    for (const c of controllers.split(',')) out.set(c, path);
    if (controllers === '') out.set('', path);
  }
  return out;
}

function detectLayout(identity: SandboxIdentity, scope: string): Layout {
  const layout: Layout = { version: 1, parents: {}, problems: {} };
  const own = ownCgroupPaths();
  const isV2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
  if (isV2) {
    layout.version = 2;
    const base = join('/sys/fs/cgroup', own.get('') ?? '/');
    const parent = join(base, 'agentfense');
    const scoped = join(parent, scope);
    let available: string[] = [];
    try {
      available = fs.readFileSync(join(base, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
      fs.accessSync(base, fs.constants.W_OK);
    } catch {
      for (const c of ['memory', 'pids', 'cpu'] as Controller[])
        layout.problems[c] = `the server's cgroup ${base} is not delegated to it`;
      return layout;
    }
    for (const c of ['memory', 'pids', 'cpu'] as Controller[]) {
      if (!available.includes(c)) {
        layout.problems[c] = `the ${c} controller is not enabled for the server's cgroup ${base}`;
        continue;
      }
      try {
        fs.mkdirSync(parent, { recursive: true });
        fs.writeFileSync(join(parent, 'cgroup.subtree_control'), `+${c}`);
        fs.mkdirSync(scoped, { recursive: true });
        fs.writeFileSync(join(scoped, 'cgroup.subtree_control'), `+${c}`);
        layout.parents[c] = scoped;
      } catch (err) {
        layout.problems[c] = `cannot enable the ${c} controller below ${base}: ${(err as Error).message}`;
      }
    }
    return layout;
  }
  for (const c of ['memory', 'pids', 'cpu'] as Controller[]) {
    const mount = join('/sys/fs/cgroup', c);
    if (!fs.existsSync(join(mount, 'cgroup.procs'))) {
      layout.problems[c] = `no cgroup v1 ${c} controller is mounted at ${mount}`;
      continue;
    }
    if (!identity.serverIsRoot) {
      layout.problems[c] = 'the server does not run as root and has no delegated cgroup';
      continue;
    }
    const parent = join(mount, own.get(c) ?? '/', 'agentfense', scope);
    try {
      fs.mkdirSync(parent, { recursive: true });
      layout.parents[c] = parent;
    } catch (err) {
      layout.problems[c] = `cannot create ${parent}: ${(err as Error).message}`;
    }
  }
  return layout;
}
