/**
 * The Docker runtime's pure parts: the container a sandbox gets (containerConfig), the engine
 * address (dockerSocketPath), the multiplexed exec stream (DockerFrames) and the base
 * environment a command starts from (containerBaseEnv).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  containerConfig,
  INIT_IN_CONTAINER,
  type ContainerSpec,
} from '../../src/server/sandbox/docker/containerConfig';
import { DockerFrames } from '../../src/server/sandbox/docker/dockerFrames';
import { dockerSocketPath, SANDBOX_LABEL } from '../../src/server/sandbox/docker/dockerEngine';
import { containerBaseEnv } from '../../src/server/sandbox/docker/sandboxContainer';
import { validShell } from '../../src/server/sandbox/shellPath';

const SPEC: ContainerSpec = {
  sandboxId: 'sb_1',
  serverTag: 'abc',
  image: 'local/img:1',
  viewDir: '/data/views/v1',
  layers: [{ root: 'output', hostPath: '/data/sandboxes/sb_1/copy/0' }],
  readOnlyBinds: ['output/.env.example'],
  tmpDir: '/data/sandboxes/sb_1/tmp',
  shmBytes: 64 << 20,
  initHostPath: '/data/agentfense-init',
  user: { uid: 61000, gid: 61000 },
};

describe('containerConfig', () => {
  it('mounts the same /workspace binds as bubblewrap, /tmp and the runner, nothing else of the host', () => {
    const c = containerConfig(SPEC);
    const mounts = c.HostConfig!.Mounts!.map((m) => [m.Source, m.Target, m.ReadOnly]);
    assert.deepEqual(mounts, [
      ['/data/views/v1', '/workspace', true],
      ['/data/sandboxes/sb_1/copy/0', '/workspace/output', false],
      ['/data/views/v1/output/.env.example', '/workspace/output/.env.example', true],
      ['/data/sandboxes/sb_1/tmp', '/tmp', false],
      ['/data/agentfense-init', INIT_IN_CONTAINER, true],
    ]);
    assert.ok(c.HostConfig!.Mounts!.every((m) => m.Type === 'bind'));
    assert.equal(c.HostConfig!.Binds, undefined, 'structured mounts only: no path is parsed for ":"');
  });

  it('runs unprivileged and without a network', () => {
    const c = containerConfig(SPEC);
    assert.equal(c.User, '61000:61000');
    assert.deepEqual(c.HostConfig!.CapDrop, ['ALL']);
    assert.deepEqual(c.HostConfig!.SecurityOpt, ['no-new-privileges']);
    assert.equal(c.HostConfig!.ReadonlyRootfs, true);
    assert.equal(c.HostConfig!.Privileged, false);
    assert.equal(c.HostConfig!.NetworkMode, 'none');
    assert.deepEqual(c.Entrypoint, [INIT_IN_CONTAINER]);
    assert.equal(c.Labels![SANDBOX_LABEL], 'sb_1');
  });

  it('maps the resource limits to the container (memory without extra swap, CPU, pids)', () => {
    const c = containerConfig({
      ...SPEC,
      resources: { memoryBytes: 256 << 20, cpuQuota: 50_000, cpuShares: 512, pidsLimit: 64 },
    });
    assert.equal(c.HostConfig!.Memory, 256 << 20);
    assert.equal(c.HostConfig!.MemorySwap, 256 << 20);
    assert.equal(c.HostConfig!.CpuQuota, 50_000);
    assert.equal(c.HostConfig!.CpuPeriod, 100_000);
    assert.equal(c.HostConfig!.CpuShares, 512);
    assert.equal(c.HostConfig!.PidsLimit, 64);
    assert.equal(containerConfig(SPEC).HostConfig!.Memory, undefined, 'no limit asked, none set');
  });

  it('with network, the init runs behind the forwarder and the proxy socket is bound in', () => {
    const c = containerConfig({
      ...SPEC,
      egress: {
        forwarder: { hostPath: '/data/agentfense-netfwd', inSandbox: '/run/agentfense/netfwd' },
        socket: { hostPath: '/run/af/sb_1.sock', inSandbox: '/run/agentfense/egress.sock' },
        prefix: ['/run/agentfense/netfwd', '3128', '/run/agentfense/egress.sock'],
      },
    });
    assert.deepEqual(c.Entrypoint, [
      '/run/agentfense/netfwd',
      '3128',
      '/run/agentfense/egress.sock',
      INIT_IN_CONTAINER,
    ]);
    assert.equal(c.HostConfig!.NetworkMode, 'none', 'still no network but the proxy');
    const targets = c.HostConfig!.Mounts!.map((m) => m.Target);
    assert.ok(targets.includes('/run/agentfense/egress.sock') && targets.includes('/run/agentfense/netfwd'));
  });
});

describe('dockerSocketPath', () => {
  it('takes unix:// addresses and paths, defaults to /var/run/docker.sock', () => {
    assert.equal(dockerSocketPath(undefined), '/var/run/docker.sock');
    assert.equal(dockerSocketPath(''), '/var/run/docker.sock');
    assert.equal(dockerSocketPath('unix:///tmp/d.sock'), '/tmp/d.sock');
    assert.equal(dockerSocketPath('unix:/tmp/d.sock'), '/tmp/d.sock');
    assert.equal(dockerSocketPath('/tmp/d.sock'), '/tmp/d.sock');
  });

  it('refuses a remote engine, saying why', () => {
    assert.throws(() => dockerSocketPath('tcp://10.0.0.1:2375'), /must be local.*host pid/);
    assert.throws(() => dockerSocketPath('ssh://me@box'), /must be local/);
  });
});

describe('DockerFrames', () => {
  const frame = (type: number, text: string) => {
    const payload = Buffer.from(text);
    const header = Buffer.alloc(8);
    header[0] = type;
    header.writeUInt32BE(payload.length, 4);
    return Buffer.concat([header, payload]);
  };

  it('splits stdout and stderr, across chunk boundaries anywhere', () => {
    const whole = Buffer.concat([frame(1, 'out-1 '), frame(2, 'err'), frame(1, 'out-2'), frame(3, 'engine')]);
    for (let cut = 1; cut < whole.length; cut += 3) {
      const got = { stdout: '', stderr: '' };
      const frames = new DockerFrames((s, d) => (got[s] += d.toString()));
      frames.push(whole.subarray(0, cut));
      frames.push(whole.subarray(cut));
      assert.deepEqual(got, { stdout: 'out-1 out-2', stderr: 'errengine' }, `cut at ${cut}`);
    }
  });
});

describe('containerBaseEnv', () => {
  it("keeps the image's environment under HOME=/tmp and TERM, with a PATH when the image has none", () => {
    const env = containerBaseEnv(['PATH=/opt/py/bin:/usr/bin', 'PYTHON_VERSION=3.11', 'HOME=/root']);
    assert.equal(env.PATH, '/opt/py/bin:/usr/bin');
    assert.equal(env.PYTHON_VERSION, '3.11');
    assert.equal(env.HOME, '/tmp');
    assert.equal(env.TERM, 'xterm-256color');
    assert.match(containerBaseEnv([]).PATH!, /\/usr\/bin/);
  });
});

describe('validShell for a Docker sandbox', () => {
  it("defaults to /bin/sh and judges the path only (the image's files decide whether it exists)", () => {
    assert.equal(validShell('', 'docker'), '/bin/sh');
    assert.equal(validShell('/usr/bin/zsh-not-on-this-host', 'docker'), '/usr/bin/zsh-not-on-this-host');
    assert.throws(() => validShell('/workspace/sh', 'docker'), /under \/usr, \/bin or \/sbin/);
    assert.throws(() => validShell('/usr/../tmp/sh', 'docker'));
  });
});
