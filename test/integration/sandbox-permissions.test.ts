/**
 * Permissions are enforced by the kernel: each level (none/view/read/write) × rule form
 * (glob/directory/file) × operation, hidden files unreachable by any path trick, and every
 * preset against a fixture with secrets. Real server process, under both runtimes: real bwrap,
 * and a real Docker engine (a private dockerd, helpers/runtimes.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_PRESET_NAMES, getPreset } from '../../src/shared/presets';
import { rules, startServer, wireRules, type TestServer } from '../helpers/server';
import { RUNTIMES } from '../helpers/runtimes';

const LEVELS = ['none', 'view', 'read', 'write'] as const;
const OPS = ['ls', 'stat', 'cat', 'write', 'sibling', 'rename', 'rename_back', 'delete'] as const;

/** Runs each operation on `dir/name` and prints `op: ok` or the errno text. */
const probeScript = (dir: string, name: string) => `
op() { n=$1; shift; if out=$( "$@" 2>&1 ); then echo "$n: ok"; else echo "$n: $(printf '%s' "$out" | head -1 | sed 's/.*: //')"; fi; }
op ls sh -c 'ls -A ${dir} | grep -qx ${name} || { echo x: absent; exit 1; }'
op stat stat -c %s ${dir}/${name}
op cat cat ${dir}/${name}
op write sh -c 'echo new > ${dir}/${name}'
op sibling sh -c 'echo sib > ${dir}/sib.txt'
op rename mv ${dir}/${name} ${dir}/${name}.moved
op rename_back mv ${dir}/${name}.moved ${dir}/${name}
op delete rm ${dir}/${name}
`;

const ENOENT = 'No such file or directory';
const EACCES = 'Permission denied';
const EROFS = 'Read-only file system';
const EBUSY = 'Device or resource busy';
const ok = 'ok';

/**
 * Expected outcome per (form, level). The workspace is `write` (`**\/*`), so for glob and
 * file rules the parent directory is writable: a `none` file can be created anew there (its
 * original is never revealed nor overwritten: the merge drops it), while `view`/`read` files
 * are read-only mount points (write EROFS, rename/delete EBUSY). A directory rule covers the
 * whole directory: `none` → absent, `view`/`read` → a read-only directory.
 */
const EXPECTED: Record<string, Record<(typeof LEVELS)[number], string[]>> = {
  glob: {
    none: ['absent', ENOENT, ENOENT, ok, ok, ok, ok, ok],
    view: [ok, ok, EACCES, EROFS, ok, EBUSY, ENOENT, EBUSY],
    read: [ok, ok, ok, EROFS, ok, EBUSY, ENOENT, EBUSY],
    write: [ok, ok, ok, ok, ok, ok, ok, ok],
  },
  directory: {
    none: [ENOENT, ENOENT, ENOENT, 'Directory nonexistent', 'Directory nonexistent', ENOENT, ENOENT, ENOENT],
    view: [ok, ok, EACCES, EROFS, EROFS, EROFS, ENOENT, EROFS],
    read: [ok, ok, ok, EROFS, EROFS, EROFS, ENOENT, EROFS],
    write: [ok, ok, ok, ok, ok, ok, ok, ok],
  },
  file: {
    none: ['absent', ENOENT, ENOENT, ok, ok, ok, ok, ok],
    view: [ok, ok, EACCES, EROFS, ok, EBUSY, ENOENT, EBUSY],
    read: [ok, ok, ok, EROFS, ok, EBUSY, ENOENT, EBUSY],
    write: [ok, ok, ok, ok, ok, ok, ok, ok],
  },
};

for (const runtime of RUNTIMES) {
  describe(runtime.name, runtime.skip, () => {
    let server: TestServer;
    before(async () => {
      const setup = await runtime.setUp();
      server = await startServer({ args: setup.serverArgs, sandboxDefaults: setup.sandbox });
    });
    after(async () => {
      await server?.stop();
      await runtime.tearDown();
    });

    describe('permission matrix: level × rule form × operation', () => {
      let codebaseId: string;
      let sandboxId: string;
      const target = (form: string, level: string): [string, string] =>
        form === 'glob'
          ? ['glob', `f.${level}`]
          : form === 'directory'
            ? [`dir_${level}`, 'f.txt']
            : ['file', `f_${level}.txt`];

      before(async () => {
        const files: Record<string, string> = {};
        for (const l of LEVELS)
          for (const form of ['glob', 'directory', 'file']) files[target(form, l).join('/')] = `content-${l}\n`;
        codebaseId = await server.createCodebase(files);
        const list = rules(
          ['**/*', 'write'],
          ...LEVELS.flatMap(
            (l) =>
              [
                [`**/*.${l}`, l, 10, 'glob'],
                [`/dir_${l}/`, l, 10, 'directory'],
                [`/file/f_${l}.txt`, l, 10, 'file'],
              ] as [string, string, number, string][],
          ),
        );
        sandboxId = await server.startSandbox(codebaseId, list);
      });

      for (const form of ['glob', 'directory', 'file']) {
        for (const level of LEVELS) {
          it(`${form} rule, ${level}`, async () => {
            const [dir, name] = target(form, level);
            const r = await server.exec(sandboxId, probeScript(dir, name));
            const got = r.stdout
              .trim()
              .split('\n')
              .map((line) => line.slice(line.indexOf(': ') + 2));
            const want = EXPECTED[form][level];
            assert.deepEqual(
              Object.fromEntries(OPS.map((op, i) => [op, got[i]])),
              Object.fromEntries(OPS.map((op, i) => [op, want[i]])),
            );
            // What reached the codebase: only changes to `write` paths.
            const content = await server.download(codebaseId, `${dir}/${name}`);
            if (level === 'write') assert.equal(content, undefined, 'the delete of a write file is merged');
            else assert.equal(content, `content-${level}\n`, 'a non-write file is never changed in the codebase');
            if (level === 'write' || form !== 'directory')
              assert.equal(await server.download(codebaseId, `${dir}/sib.txt`), 'sib\n');
          });
        }
      }
    });

    describe('hidden files are unreachable', () => {
      let sandboxId: string;
      const SECRET = 'TOPSECRET_9f2c';
      before(async () => {
        const codebaseId = await server.createCodebase({
          '.env': `API_KEY=${SECRET}\n`,
          'src/app.py': 'print(1)\n',
          'src/.env.local': `LOCAL=${SECRET}\n`,
          'docs/plan.md': `plan ${SECRET}\n`,
        });
        sandboxId = await server.startSandbox(
          codebaseId,
          rules(
            ['**/*', 'read'],
            ['/output/**', 'write', 10],
            ['**/.env*', 'none', 100],
            ['/docs/plan.md', 'view', 100, 'file'],
          ),
        );
      });

      it('not listed by ls, find, shell globs or grep -r', async () => {
        const r = await server.exec(
          sandboxId,
          'ls -A; ls -A src; find / -name ".env*" 2>/dev/null; echo * .*; echo src/.*; grep -rs TOP""SECRET / --exclude-dir=proc --exclude-dir=sys --exclude-dir=usr --exclude-dir=etc; true',
        );
        assert.doesNotMatch(r.stdout, /\.env/);
        assert.doesNotMatch(r.stdout, new RegExp(SECRET));
        assert.match(r.stdout, /app\.py/);
      });

      it('not reachable through .., /proc/self/root, symlinks or hard links in a writable folder', async () => {
        const r = await server.exec(
          sandboxId,
          [
            'cat /workspace/src/../.env',
            'cat /proc/self/root/workspace/.env',
            'cat /proc/1/root/workspace/.env',
            'ln -s /workspace/.env output/link && cat output/link',
            'ln /workspace/.env output/hard',
            'ln /workspace/docs/plan.md output/plan-hard',
            'cat docs/plan.md',
            'dd if=docs/plan.md of=/dev/stdout',
          ]
            .map((c) => `{ ${c}; } 2>&1`)
            .join('; '),
        );
        assert.doesNotMatch(r.stdout, new RegExp(SECRET));
        assert.match(r.stdout, /\.env: No such file or directory/);
        assert.match(r.stdout, /plan\.md: Permission denied/);
      });

      it('a view file shows its size but holds no content, and cannot be chmod-ed', async () => {
        const r = await server.exec(
          sandboxId,
          'stat -c "%s %a" docs/plan.md; chmod 644 docs/plan.md 2>&1; cat docs/plan.md 2>&1',
        );
        assert.match(r.stdout, /^\d+ 0\n/);
        assert.equal(r.stdout.split('\n')[0], `${`plan ${SECRET}\n`.length} 0`);
        assert.match(r.stdout, /Operation not permitted|Read-only file system/);
        assert.doesNotMatch(r.stdout, new RegExp(SECRET));
      });
    });

    describe('presets against a fixture with secrets', () => {
      const FIXTURE = {
        '.env': 'KEY=1\n',
        'secrets/key.pem': 'PEM\n',
        'id_rsa.key': 'RSA\n',
        '.git/config': '[core]\n',
        'src/app.py': 'print(1)\n',
        'README.md': '# readme\n',
      };
      const PATHS = Object.keys(FIXTURE);
      /** Per preset: the level each fixture path gets inside the sandbox. */
      const EXPECT: Record<string, string[]> = {
        'agent-safe': ['none', 'none', 'none', 'none', 'read', 'read'],
        'read-only': ['none', 'none', 'none', 'read', 'read', 'read'],
        development: ['none', 'none', 'none', 'write', 'write', 'write'],
        'full-access': ['write', 'write', 'write', 'write', 'write', 'write'],
        'view-only': ['none', 'none', 'none', 'view', 'view', 'view'],
      };
      const levelProbe = PATHS.map(
        (p) =>
          `if [ ! -e ${p} ]; then echo none; elif [ ! -r ${p} ]; then echo view; elif [ ! -w ${p} ]; then echo read; else echo write; fi`,
      ).join('; ');

      for (const preset of BUILTIN_PRESET_NAMES) {
        it(preset, async () => {
          const codebaseId = await server.createCodebase(FIXTURE);
          const sandboxId = await server.startSandbox(codebaseId, wireRules(getPreset(preset)));
          const r = await server.exec(sandboxId, levelProbe);
          assert.deepEqual(
            Object.fromEntries(PATHS.map((p, i) => [p, r.stdout.trim().split('\n')[i]])),
            Object.fromEntries(PATHS.map((p, i) => [p, EXPECT[preset][i]])),
          );
          // Writing everywhere: only `write` paths (and agent-safe's /output) reach the codebase.
          await server.exec(
            sandboxId,
            `for p in ${PATHS.join(' ')}; do echo changed > $p; done 2>/dev/null; mkdir -p output; echo out > output/o.txt; true`,
          );
          for (const [i, p] of PATHS.entries()) {
            const want = EXPECT[preset][i] === 'write' ? 'changed\n' : FIXTURE[p as keyof typeof FIXTURE];
            assert.equal(await server.download(codebaseId, p), want, `${preset}: ${p}`);
          }
          const outputWritable = preset === 'agent-safe' || preset === 'development' || preset === 'full-access';
          assert.equal(await server.download(codebaseId, 'output/o.txt'), outputWritable ? 'out\n' : undefined);
        });
      }
    });
  });
}
