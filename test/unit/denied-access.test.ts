// Which failed calls are the rules at work (src/server/sandbox/audit): the kind, the path, the rule.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PermissionEngine } from '../../src/shared/permissions';
import { getPreset } from '../../src/shared/presets';
import { DenialLog, type CountedDenial } from '../../src/server/sandbox/audit/denialLog';
import { inWorkspace, type WireDenial } from '../../src/shared/denialWire';

const wireOf = (d: CountedDenial): WireDenial => ({
  kind: d.kind,
  op: d.op,
  named: d.named,
  path: d.workspacePath,
  accessed: d.accessed,
  level: d.level,
  wants: d.wants,
  pid: d.pid,
  time: d.time,
  count: d.count,
  ...(d.inCodebase === false ? { inCodebase: false as const } : {}),
});

const codebase = new Set(['.env', 'src', 'src/a.ts', 'secrets', 'secrets/k.pem', 'docs', 'docs/x.md']);
const engine = (rules: Parameters<typeof getPreset>[0] | ConstructorParameters<typeof PermissionEngine>[0]) =>
  new PermissionEngine(typeof rules === 'string' ? getPreset(rules) : rules);

function denials(lines: string[], rules = engine('agent-safe')) {
  const log = new DenialLog({ rules, exists: (p) => codebase.has(p), cwd: '/workspace' });
  log.push(lines.map((l) => l + '\n').join(''));
  return log.denials.map((d) => [d.kind, d.workspacePath, d.op, d.rule?.pattern ?? '(no rule)', d.count]);
}

const enoent = '= -1 ENOENT (No such file or directory)';

describe('denials', () => {
  it('a lookup of a hidden file, or below a hidden folder, is a denial by the rule that hides it', () => {
    assert.deepEqual(
      denials([
        `5 1.0 openat(AT_FDCWD</workspace>, ".env", O_RDONLY) ${enoent}`,
        `5 1.1 newfstatat(AT_FDCWD</workspace/src>, "../secrets/k.pem", 0x1, 0) ${enoent}`,
        `5 1.2 openat(AT_FDCWD</workspace>, ".env", O_RDONLY) ${enoent}`,
      ]),
      [
        ['hidden', '.env', 'openat', '**/.env*', 2],
        ['hidden', 'secrets', 'newfstatat', '**/secrets/**', 1],
      ],
    );
  });

  it('a path that exists nowhere, or outside /workspace, is not a denial', () => {
    assert.deepEqual(
      denials([
        `5 1.0 openat(AT_FDCWD</workspace>, "nothere.txt", O_RDONLY) ${enoent}`,
        `5 1.0 newfstatat(AT_FDCWD</workspace>, "/usr/local/bin/cat", 0x1, 0) ${enoent}`,
        `5 1.0 openat(AT_FDCWD</workspace>, "src/missing.ts", O_RDONLY) ${enoent}`,
        `5 1.0 access("/etc/ld.so.preload", R_OK) ${enoent}`,
      ]),
      [],
    );
  });

  it('a path a rule hides by name that the codebase lacks (never uploaded) is marked for the client to check', () => {
    const log = new DenialLog({ rules: engine('agent-safe'), exists: (p) => codebase.has(p), cwd: '/workspace' });
    log.push(`5 1.0 openat(AT_FDCWD</workspace>, ".env.local", O_RDONLY) ${enoent}\n`);
    assert.deepEqual(
      log.denials.map((d) => [d.kind, d.workspacePath, d.inCodebase]),
      [['hidden', '.env.local', false]],
    );
    const wire = { denials: [{ ...wireOf(log.denials[0]!) }], dropped: 0 };
    assert.equal(inWorkspace(wire, () => false).denials.length, 0, 'the workspace has no such file: not a denial');
    assert.equal(inWorkspace(wire, (p) => p === '.env.local').denials.length, 1);
  });

  it('a write to a path that is not writable is read-only; a read of a view file is unreadable', () => {
    const rules = engine([
      { pattern: 'docs/**', permission: 'view', type: 'glob', priority: 5 },
      { pattern: '**/*', permission: 'read', type: 'glob', priority: 0 },
    ]);
    assert.deepEqual(
      denials(
        [
          '5 1.0 openat(AT_FDCWD</workspace/src>, "a.ts", O_WRONLY|O_CREAT|O_TRUNC, 0666) = -1 EROFS (Read-only file system)',
          '5 1.0 unlinkat(AT_FDCWD</workspace>, "src/a.ts", 0) = -1 EROFS (Read-only file system)',
          '5 1.0 openat(AT_FDCWD</workspace>, "docs/x.md", O_RDONLY) = -1 EACCES (Permission denied)',
          // A read that failed with EACCES on a readable file is not the rules' doing.
          '5 1.0 openat(AT_FDCWD</workspace>, "src/a.ts", O_RDONLY) = -1 EACCES (Permission denied)',
        ],
        rules,
      ),
      [
        ['read-only', 'src/a.ts', 'openat', '**/*', 1],
        ['read-only', 'src/a.ts', 'unlinkat', '**/*', 1],
        ['unreadable', 'docs/x.md', 'openat', 'docs/**', 1],
      ],
    );
  });

  it('says which path the call named, the level it needed and the process that made it', () => {
    const log = new DenialLog({ rules: engine('agent-safe'), exists: (p) => codebase.has(p), cwd: '/workspace' });
    log.push(
      [
        `[pid 7<cat>] 1.0 openat(AT_FDCWD</workspace>, "secrets/k.pem", O_RDONLY) ${enoent}`,
        `[pid 8<ls>] 1.0 openat(AT_FDCWD</workspace>, "secrets", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY) ${enoent}`,
        `[pid 9<sh>] 1.0 openat(AT_FDCWD</workspace>, "src/new.ts", O_WRONLY|O_CREAT, 0666) = -1 EROFS (Read-only file system)`,
        `9 1.0 newfstatat(AT_FDCWD</workspace>, ".env", 0x1, 0) ${enoent}`,
      ].join('\n') + '\n',
    );
    assert.deepEqual(
      log.denials.map((d) => [d.workspacePath, d.accessed, d.wants, d.pid, d.process]),
      [
        ['secrets', 'secrets/k.pem', 'read', 7, 'cat'],
        ['secrets', 'secrets', 'view', 8, 'ls'],
        ['src/new.ts', 'src/new.ts', 'write', 9, 'sh'],
        ['.env', '.env', 'view', 9, undefined],
      ],
    );
  });

  it('reassembles lines across chunks and stays bounded', () => {
    const log = new DenialLog({ rules: engine('agent-safe'), exists: () => true, cwd: '/workspace' });
    const line = `5 1.0 openat(AT_FDCWD</workspace>, ".env", O_RDONLY) ${enoent}\n`;
    for (const c of line) log.push(c);
    assert.equal(log.denials.length, 1);
    log.push('x'.repeat(200_000));
    log.push(`tail of the long line\n${line}`);
    assert.equal(log.denials[0]!.count, 2, 'the long line is skipped, the next one read');
    for (let i = 0; i < 500; i++) log.push(`5 1.0 openat(AT_FDCWD</workspace>, ".env${i}", O_RDONLY) ${enoent}\n`);
    assert.equal(log.denials.length, 200);
    assert.equal(log.dropped, 301);
  });
});
