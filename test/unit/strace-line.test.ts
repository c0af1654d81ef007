// Reading strace's failed calls (src/server/sandbox/audit/straceLine.ts): names come from the sandbox.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStraceLine } from '../../src/server/sandbox/audit/straceLine';

describe('parseStraceLine', () => {
  it('reads an *at call: the directory strace decoded, the path, the flags, the error', () => {
    assert.deepEqual(
      parseStraceLine(
        '7 1796198774.192709 openat(AT_FDCWD</workspace/src>, "a.txt", O_WRONLY|O_CREAT|O_TRUNC, 0666) = -1 EROFS (Read-only file system)',
      ),
      {
        pid: 7,
        time: 1796198774.192709,
        syscall: 'openat',
        paths: [{ named: 'a.txt', dir: '/workspace/src' }],
        flags: 'O_WRONLY|O_CREAT|O_TRUNC',
        errno: 'EROFS',
      },
    );
  });

  it('reads names with escapes, commas and the characters strace escapes in a decoded directory', () => {
    const call = parseStraceLine(
      '12 1.5 newfstatat(AT_FDCWD</tmp/a\\76b,c\\"d>, "x y\\n\\"q\\",\\303\\251", 0x7ff, 0) = -1 ENOENT (No such file or directory)',
    );
    assert.deepEqual(call?.paths, [{ named: 'x y\n"q",é', dir: '/tmp/a>b,c"d' }]);
  });

  it('reads the process name -Y prints after the pid, escapes decoded', () => {
    const tail = '1.5 openat(AT_FDCWD, "/x", O_RDONLY) = -1 ENOENT (No such file or directory)';
    assert.deepEqual(
      [parseStraceLine(`[pid  42<cat>] ${tail}`)?.pid, parseStraceLine(`[pid  42<cat>] ${tail}`)?.process],
      [42, 'cat'],
    );
    assert.equal(parseStraceLine(`42<a\\33b> ${tail}`)?.process, 'a\x1bb');
    assert.equal(parseStraceLine(tail)?.process, undefined);
  });

  it('reads the pid in each form strace prints it, or none', () => {
    const tail = '1.5 openat(AT_FDCWD</w>, "a", O_RDONLY) = -1 ENOENT (No such file or directory)';
    assert.equal(parseStraceLine(`[pid  42] ${tail}`)?.pid, 42);
    assert.equal(parseStraceLine(`42 ${tail}`)?.pid, 42);
    assert.equal(parseStraceLine(tail)?.pid, 0);
  });

  it('reads two-path calls and calls without a directory', () => {
    assert.deepEqual(
      parseStraceLine(
        '3 2.0 renameat2(AT_FDCWD</w>, "a", AT_FDCWD</w>, "b", RENAME_NOREPLACE) = -1 EACCES (Permission denied)',
      )?.paths,
      [
        { named: 'a', dir: '/w' },
        { named: 'b', dir: '/w' },
      ],
    );
    assert.deepEqual(parseStraceLine('3 2.0 access("/etc/x", R_OK) = -1 ENOENT (No such file or directory)')?.paths, [
      { named: '/etc/x' },
    ]);
  });

  it('skips what is not a whole failed call: success, signals, cut strings, unfinished pairs, garbage', () => {
    for (const line of [
      '7 1.0 openat(AT_FDCWD</w>, "a", O_RDONLY) = 3</w/a>',
      '7 1.0 --- SIGCHLD {si_signo=SIGCHLD} ---',
      '7 1.0 openat(AT_FDCWD</w>, "aaaa"..., O_RDONLY) = -1 ENOENT (No such file or directory)',
      '7 1.0 openat(AT_FDCWD</w>, "a", O_RDONLY <unfinished ...>',
      '7 1.0 <... openat resumed>) = -1 ENOENT (No such file or directory)',
      '7 1.0 openat(AT_FDCWD</w, "a", O_RDONLY) = -1 ENOENT (No such file or directory)',
      '',
      'x'.repeat(10_000),
    ])
      assert.equal(parseStraceLine(line), undefined, line.slice(0, 80));
  });
});
