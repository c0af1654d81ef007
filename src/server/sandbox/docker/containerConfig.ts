/**
 * The container a Docker sandbox runs in, as the Engine API's create options. What it gets
 * is what a bubblewrap sandbox gets, and nothing of the host beyond it:
 *  - the same /workspace binds (view/workspaceBinds.ts), its private /tmp, and the helpers
 *    (agentfense-init; the egress forwarder and proxy socket when the network policy lets
 *    anything out), each read-only;
 *  - no network but its own loopback (`none`): what leaves goes through the egress proxy;
 *  - the sandbox user (uid:gid, never root), every capability dropped, no-new-privileges,
 *    a read-only root file system, Docker's default seccomp profile and masked /proc paths;
 *  - the resource limits as the container's memory (no swap beyond it), CPU and pids limits.
 * Structured `Mounts`, never `Binds` strings: no path is parsed for `:` or `,`.
 */
import type Docker from 'dockerode';
import { workspaceBinds, type WorkspaceLayout } from '../view/workspaceBinds';
import type { ResourceLimitValues } from '../runtime/cgroupLimits';
import { SANDBOX_LABEL, SERVER_LABEL } from './dockerEngine';
import { builtHelper } from '../runtime/installedProgram';

/** The runner (containerInit.c, dist/agentfense-init): every Docker sandbox's init and command runner. */
export const CONTAINER_INIT = builtHelper(
  'agentfense-init',
  'src/server/sandbox/docker/containerInit.c',
  'a Docker sandbox',
);

/** Where the runner is inside every Docker sandbox. */
export const INIT_IN_CONTAINER = '/run/agentfense/init';

export interface ContainerEgress {
  /** The forwarder's host path and where it runs inside, with its arguments before the program. */
  forwarder: { hostPath: string; inSandbox: string };
  socket: { hostPath: string; inSandbox: string };
  /** The forwarder's command line up to the program it starts (netForwarder.c). */
  prefix: readonly string[];
}

export interface ContainerSpec extends WorkspaceLayout {
  sandboxId: string;
  serverTag: string;
  image: string;
  tmpDir: string;
  shmBytes: number;
  initHostPath: string;
  user: { uid: number; gid: number };
  resources?: ResourceLimitValues;
  egress?: ContainerEgress;
}

const CPU_PERIOD_US = 100_000;

export function containerName(sandboxId: string): string {
  return `agentfense-${sandboxId}`;
}

export function containerConfig(s: ContainerSpec): Docker.ContainerCreateOptions {
  const mounts: Docker.MountSettings[] = [
    ...workspaceBinds(s).map((b) => bind(b.source, b.target, b.readOnly)),
    bind(s.tmpDir, '/tmp', false),
    bind(s.initHostPath, INIT_IN_CONTAINER, true),
  ];
  if (s.egress) {
    mounts.push(bind(s.egress.forwarder.hostPath, s.egress.forwarder.inSandbox, true));
    mounts.push(bind(s.egress.socket.hostPath, s.egress.socket.inSandbox, true));
  }
  const r = s.resources;
  const limits: Docker.HostConfig = {};
  if (r?.memoryBytes) {
    limits.Memory = r.memoryBytes;
    limits.MemorySwap = r.memoryBytes; // memory + swap: no swap beyond the limit
  }
  if (r?.pidsLimit) limits.PidsLimit = r.pidsLimit;
  if (r?.cpuQuota) {
    limits.CpuPeriod = CPU_PERIOD_US;
    limits.CpuQuota = r.cpuQuota;
  }
  if (r?.cpuShares) limits.CpuShares = r.cpuShares;
  const init = s.egress ? [...s.egress.prefix, INIT_IN_CONTAINER] : [INIT_IN_CONTAINER];
  return {
    name: containerName(s.sandboxId),
    Image: s.image,
    Entrypoint: init,
    Cmd: [],
    User: `${s.user.uid}:${s.user.gid}`,
    WorkingDir: '/workspace',
    Hostname: 'sandbox',
    Labels: { [SANDBOX_LABEL]: s.sandboxId, [SERVER_LABEL]: s.serverTag },
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    NetworkDisabled: false,
    HostConfig: {
      NetworkMode: 'none',
      Mounts: mounts,
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      IpcMode: 'private',
      ShmSize: s.shmBytes,
      LogConfig: { Type: 'none', Config: {} },
      RestartPolicy: { Name: 'no' },
      ...limits,
    },
  };
}

function bind(source: string, target: string, readOnly: boolean): Docker.MountSettings {
  // rprivate: mounts made on the host later never appear inside.
  return { Type: 'bind', Source: source, Target: target, ReadOnly: readOnly, BindOptions: { Propagation: 'rprivate' } };
}
