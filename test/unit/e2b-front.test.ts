/** The E2B front's pure parts: templates, paths, the network options, `find -printf` entries, the listen address. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { templateFor } from '../../src/server/e2b/e2bTemplates';
import { sandboxPath } from '../../src/server/e2b/sandboxShell';
import { e2bNetworkLabels } from '../../src/server/e2b/e2bSandboxes';
import { parseEntries } from '../../src/server/e2b/envdFilesystem';
import { splitHostPort } from '../../src/server/e2b/e2bFront';
import { FileType } from '../../src/generated/envd/e2b/envd/filesystem/filesystem_pb';
import { getPreset } from '../../src/shared/presets';

describe('E2B templates', () => {
  it('base is full-access; a preset is itself; docker:<image> runs in Docker; others are unknown', () => {
    assert.deepEqual(templateFor('base'), { rules: getPreset('full-access'), runtime: { kind: 'bwrap' } });
    assert.deepEqual(templateFor('')?.rules, getPreset('full-access'));
    assert.deepEqual(templateFor('agent-safe')?.rules, getPreset('agent-safe'));
    assert.deepEqual(templateFor('docker:python:3.11-slim')?.runtime, { kind: 'docker', image: 'python:3.11-slim' });
    assert.equal(templateFor('docker:'), undefined);
    assert.equal(templateFor('code-interpreter-v1'), undefined);
  });
});

describe('sandboxPath', () => {
  it('puts relative paths and ~ under /workspace and resolves ..', () => {
    assert.equal(sandboxPath('a/b.txt'), '/workspace/a/b.txt');
    assert.equal(sandboxPath('~/x'), '/workspace/x');
    assert.equal(sandboxPath(''), '/workspace');
    assert.equal(sandboxPath('/tmp/../etc/hosts'), '/etc/hosts');
    assert.throws(() => sandboxPath('a\0b'), /NUL/);
  });
});

describe('e2bNetworkLabels', () => {
  it('maps allow_internet_access and network.allowOut/denyOut to the sandbox network labels', () => {
    assert.deepEqual(e2bNetworkLabels({}), { 'agentfense.network': 'on' });
    assert.deepEqual(e2bNetworkLabels({ allow_internet_access: false }), {});
    assert.deepEqual(e2bNetworkLabels({ network: { denyOut: ['0.0.0.0/0'], allowOut: ['pypi.org', '1.2.3.4'] } }), {
      'agentfense.network': 'allow',
      'agentfense.network.allow': 'pypi.org,1.2.3.4',
    });
    assert.deepEqual(e2bNetworkLabels({ network: { denyOut: ['10.0.0.0/8'] } }), {
      'agentfense.network': 'on',
      'agentfense.network.deny': '10.0.0.0/8',
    });
    assert.deepEqual(e2bNetworkLabels({ network: { denyOut: ['0.0.0.0/0'] } }), {}, 'deny everything: off');
    assert.throws(() => e2bNetworkLabels({ network: { allowOut: 'pypi.org' } }), /allowOut must be a list/);
    assert.throws(
      () => e2bNetworkLabels({ network: { denyOut: ['0.0.0.0/0'], allowOut: ['not a host!'] } }),
      /network:/,
    );
  });
});

describe('parseEntries', () => {
  it('reads NUL-separated find -printf records, names with any byte but NUL', () => {
    const rec = (...f: string[]) => f.map((x) => x + '\0').join('');
    const out = Buffer.from(
      rec('f', '9', '644', '-rw-r--r--', 'u', 'g', '1700000000.5', '/workspace/a\nb', '') +
        rec('d', '4096', '755', 'drwxr-xr-x', 'u', 'g', '1700000001', '/workspace/dir', '') +
        rec('l', '3', '777', 'lrwxrwxrwx', 'u', 'g', '1700000002', '/workspace/ln', 'dir'),
    );
    const entries = parseEntries(out);
    assert.deepEqual(
      entries.map((e) => [e.name, e.type, e.path, e.size, e.mode, e.symlinkTarget]),
      [
        ['a\nb', FileType.FILE, '/workspace/a\nb', 9n, 0o644, undefined],
        ['dir', FileType.DIRECTORY, '/workspace/dir', 4096n, 0o755, undefined],
        ['ln', FileType.SYMLINK, '/workspace/ln', 3n, 0o777, 'dir'],
      ],
    );
  });
});

describe('splitHostPort', () => {
  it('takes HOST:PORT and [v6]:PORT', () => {
    assert.deepEqual(splitHostPort('127.0.0.1:3000'), ['127.0.0.1', '3000']);
    assert.deepEqual(splitHostPort('[::1]:0'), ['::1', '0']);
    assert.throws(() => splitHostPort('3000'), /HOST:PORT/);
  });
});
