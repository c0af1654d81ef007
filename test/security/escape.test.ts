/**
 * Escape attempts from inside a sandbox running the `agent-safe` preset. Every attempt must
 * fail and leak nothing: no canary from a hidden file, no hidden name in a listing, no
 * forbidden operation reporting success, no process outliving its command, no packet
 * leaving a network-less sandbox. The suite prints `attempts: N, leaks: M`.
 *
 *   node --import tsx --test test/security/escape.test.ts
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer as createTcpServer, type Server } from 'node:net';
import { createSocket } from 'node:dgram';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  agentSafeRules,
  presetRules,
  processesMatching,
  sandboxProcessesOf,
  commandProcessesOf,
  rssBytes,
  sha256,
  sleep,
  startServer,
  uploadSecretFixture,
  waitFor,
  SANDBOX_HOST_UID,
  type SecretFixture,
  type ServerHandle,
} from './lib/harness';
import { Attempt, leakIf, Tally } from './lib/attempts';
import { AS_ROOT, rootOnly } from '../helpers/privileges';
import { DOCKER, RUNTIMES } from '../helpers/runtimes';
import { engineGet } from '../../scripts/privateDockerd.mjs';
import { PatternType, Permission } from '../../src/generated/common';

let srv: ServerHandle;
let fx: SecretFixture;
let tally: Tally;
/** The main agent-safe sandbox. */
let A: string;
const hostFiles: string[] = [];
const RUN = randomBytes(4).toString('hex');
const HOST_HOME = homedir();

const WS = '/workspace';

async function attempt(name: string, body: (a: Attempt) => Promise<void>): Promise<void> {
  const a = new Attempt(tally, srv, name);
  await body(a);
  assert.deepEqual(a.leaks, [], `${name}: ${JSON.stringify(a.leaks, null, 1)}`);
}

/** Files of the host's data dir (bounded walk) — used to aim at real host paths. */
function walk(dir: string, limit = 5000): string[] {
  const out: string[] = [];
  const stack = [dir];
  while (stack.length && out.length < limit) {
    const d = stack.pop()!;
    let names: string[] = [];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      const p = join(d, n);
      try {
        const st = statSync(p);
        if (st.isDirectory()) stack.push(p);
        else out.push(p);
      } catch {
        /* raced */
      }
    }
  }
  return out;
}

/** Host paths under the data dir that hold the content of a hidden file (found by content). */
function hostPathsOfSecrets(): string[] {
  const wanted = new Set(fx.hidden.map((h) => sha256(fx.files[h]!)));
  const hits: string[] = [];
  for (const p of walk(srv.dataDir)) {
    if ([...wanted].some((d) => p.includes(d))) hits.push(p);
    else {
      try {
        if (statSync(p).size < 4096 && fx.canaries.some((c) => readFileSync(p, 'utf8').includes(c))) hits.push(p);
      } catch {
        /* unreadable */
      }
    }
  }
  return hits;
}

/** Downloads every file under output/ in the codebase and scans it (what the merges produced). */
async function scanOutputFolder(a: Attempt): Promise<void> {
  const files = await srv.listFiles(fx.codebaseId, 'output', true).catch(() => []);
  for (const f of files.filter((x) => !x.isDir).slice(0, 300)) {
    const got = await srv.download(fx.codebaseId, f.path).catch(() => Buffer.alloc(0));
    a.scan(got.toString('latin1'), `DownloadFile ${f.path}`);
  }
}

/** After a session or sandbox was destroyed nothing of this server may run (nothing else is running then). */
async function nothingRunsAfter(a: Attempt, what: string): Promise<void> {
  const left = await waitFor(
    () => commandProcessesOf(srv.dataDir),
    (v) => v.length === 0,
    5000,
  );
  if (left.length)
    a.leak(`sandbox processes still run ${what}`, JSON.stringify(left.map((p) => `${p.pid}: …${p.cmd.slice(-40)}`)));
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

for (const runtime of RUNTIMES) {
  describe(`escapes (${runtime.name})`, runtime.skip, () => {
    before(async () => {
      const setup = await runtime.setUp();
      srv = await startServer({ extraArgs: setup.serverArgs, sandboxDefaults: setup.sandbox });
      fx = await uploadSecretFixture(srv);
      tally = new Tally(fx.canaries);
      // A hidden name appearing in any listing is a leak (matched on whole path segments).
      tally.hiddenNames.push(
        /(^|[\s/])\.env\b/m,
        /key\.pem/,
        /id_rsa\.key/,
        /credentials\.json/,
        /(^|[\s/])\.git\b/m,
        /(^|[\s/])secrets\b/m,
      );
      // Canaries the host holds outside the server: in the home of the user running the server (root's
      // or the unprivileged user's) and the host /tmp.
      for (const [dir, what] of [
        [HOST_HOME, 'home'],
        ['/tmp', 'hosttmp'],
      ] as const) {
        const secret = `AFCANARY-${what}-${randomBytes(10).toString('hex')}`;
        const p = join(dir, `.af-sec-canary-${RUN}`);
        writeFileSync(p, secret + '\n', { mode: 0o644 });
        hostFiles.push(p);
        tally.secrets.push(secret);
      }
      A = (await srv.createSandbox(fx.codebaseId, agentSafeRules())).id;
    });

    after(async () => {
      for (const p of hostFiles) rmSync(p, { force: true });
      if (A) await srv.destroySandbox(A).catch(() => undefined);
      console.log(`\n${tally?.summary()}`);
      for (const l of tally?.leaks ?? [])
        console.log(`LEAK [${l.attempt}] ${l.what}\n    ${l.evidence.replace(/\n/g, '\n    ')}`);
      await srv?.stop();
      await runtime.tearDown();
    });

    describe('hidden files stay hidden', () => {
      it('by name (cat, stat, test -e, head, dd, cp)', async () => {
        for (const h of fx.hidden) {
          await attempt(`read ${h} by name`, async (a) => {
            await a.sh(
              A,
              `cat ${WS}/${h}; head -c 100 ${WS}/${h}; dd if=${WS}/${h} bs=1 count=200 2>&1; cp ${WS}/${h} /tmp/x && cat /tmp/x;` +
                ` stat ${WS}/${h} >/dev/null 2>&1 && ${leakIf('stat-' + h)}; test -e ${WS}/${h} && ${leakIf('exists-' + h)};` +
                ` ls -l ${WS}/${h} >/dev/null 2>&1 && ${leakIf('ls-' + h)}; true`,
            );
          });
        }
      });

      it('by listing the directories that hold them', async () => {
        await attempt('list /workspace and parents', async (a) => {
          await a.sh(A, `ls -laR ${WS} 2>/dev/null; ls -la ${WS}/secrets ${WS}/.git ${WS}/config 2>/dev/null; true`, {
            names: true,
          });
          await a.sh(A, `cd ${WS} && for f in .* * */.* */*; do echo "$f"; done`, { names: true });
        });
      });

      it('by glob', async () => {
        await attempt('glob expansion', async (a) => {
          await a.sh(A, `cd ${WS}; echo .* */* */.* .e* *.key */*.pem */cred* .g*/* 2>/dev/null`, { names: true });
          await a.sh(A, `cat ${WS}/.e* ${WS}/*.key ${WS}/*/*.pem ${WS}/*/cred* ${WS}/.*/* 2>/dev/null; true`);
        });
      });

      it('by find', async () => {
        await attempt('find', async (a) => {
          await a.sh(
            A,
            `find ${WS} 2>/dev/null; find ${WS} -name '.env*' -o -name '*.pem' -o -name '*.key' -o -name '.git' 2>/dev/null`,
            {
              names: true,
            },
          );
          await a.sh(A, `find ${WS} -type f -exec cat {} + 2>/dev/null; true`);
        });
      });

      it('by grep -r for the canary (workspace and the whole visible root)', async () => {
        await attempt('grep -r workspace', async (a) => {
          await a.sh(A, `grep -ra ${fx.prefix} ${WS} 2>/dev/null; grep -rla ${fx.prefix} ${WS} 2>/dev/null; true`);
        });
        await attempt('grep -r whole root (except /usr /opt /proc /sys /dev)', async (a) => {
          // Host system directories are read-only binds of the host's and hold no canary; they are
          // skipped only to keep this within seconds. Everything else the sandbox sees is searched.
          const r = await a.sh(
            A,
            `for d in /* /usr/local /var/tmp; do case "$d" in /usr|/opt|/proc|/sys|/dev|/bin|/sbin|/lib|/lib32|/lib64|/libx32) continue;; esac;` +
              ` timeout 15 grep -rIs ${fx.prefix} "$d" 2>/dev/null; done; echo grep-done`,
            { timeoutSec: 60 },
          );
          assert.match(r.stdout, /grep-done/);
        });
      });

      it('through ..', async () => {
        await attempt('dot-dot paths', async (a) => {
          await a.sh(
            A,
            `cat ${WS}/src/../.env ${WS}/output/../.env ${WS}/../workspace/.env ${WS}/src/../secrets/key.pem 2>/dev/null;` +
              ` cd ${WS}/output && cat ../.env ../id_rsa.key ../.git/config 2>/dev/null; cd / && cat ./workspace/./.env 2>/dev/null; true`,
          );
        });
      });

      it('through a symlink or hard link made in the writable folder', async () => {
        await attempt('symlink to hidden file, read inside and after merge', async (a) => {
          await a.sh(
            A,
            `cd ${WS}/output && ln -s ${WS}/.env l-abs && ln -s ../.env l-rel && ln -s ../secrets s-dir && ln -s /proc/self/root/workspace/.env l-proc;` +
              ` cat l-abs l-rel s-dir/key.pem l-proc 2>/dev/null; true`,
          );
          // Next command sees the merged result; and the host API serves what was merged.
          await a.sh(
            A,
            `cat ${WS}/output/l-abs ${WS}/output/l-rel ${WS}/output/s-dir/key.pem ${WS}/output/l-proc 2>/dev/null; true`,
          );
          for (const p of ['output/l-abs', 'output/l-rel', 'output/l-proc', 'output/s-dir/key.pem']) {
            const got = await srv.download(fx.codebaseId, p).catch(() => Buffer.alloc(0));
            a.scan(got.toString('latin1'), `DownloadFile ${p}`);
          }
        });
        await attempt('hard link to hidden file / blob', async (a) => {
          const targets = hostPathsOfSecrets();
          const cmds = [`ln ${WS}/.env ${WS}/output/h1 2>/dev/null && ${leakIf('hardlink-env')}`];
          for (const [i, t] of targets.slice(0, 10).entries())
            cmds.push(`ln ${q(t)} ${WS}/output/hb${i} 2>/dev/null && cat ${WS}/output/hb${i}`);
          await a.sh(A, cmds.join('; ') + '; true');
          for (let i = 0; i < Math.min(10, targets.length); i++) {
            const got = await srv.download(fx.codebaseId, `output/hb${i}`).catch(() => Buffer.alloc(0));
            a.scan(got.toString('latin1'), `DownloadFile output/hb${i}`);
          }
        });
        await attempt(
          'symlink to host paths (data dir blobs, /etc/shadow, host canaries), resolved by the merge',
          async (a) => {
            const targets = [...hostPathsOfSecrets().slice(0, 10), '/etc/shadow', ...hostFiles];
            const cmds = targets.map((t, i) => `ln -s ${q(t)} ${WS}/output/hs${i}`);
            // A symlink to the blobs' host directory: a merge that walks through it imports them.
            for (const [i, t] of targets.slice(0, 5).entries())
              cmds.push(`ln -s ${q(t.slice(0, t.lastIndexOf('/')))} ${WS}/output/hd${i}`);
            await a.sh(A, cmds.join('; ') + `; cat ${WS}/output/hs* 2>/dev/null; true`);
            await a.sh(A, `cat ${WS}/output/hs* 2>/dev/null; true`);
            const shadow =
              AS_ROOT && existsSync('/etc/shadow') ? readFileSync('/etc/shadow', 'utf8').split('\n')[0]! : '';
            for (let i = 0; i < targets.length; i++) {
              const got = (await srv.download(fx.codebaseId, `output/hs${i}`).catch(() => Buffer.alloc(0))).toString(
                'latin1',
              );
              a.scan(got, `DownloadFile output/hs${i}`);
              if (shadow && got.includes(shadow))
                a.leak('host /etc/shadow copied into the codebase by the merge', got.slice(0, 80));
            }
            await scanOutputFolder(a);
          },
        );
      });

      it('through a directory swapped for a symlink to a host dir while the merge walks the layer (TOCTOU)', async () => {
        // A session keeps a process running while the server merges after each SessionExec. The
        // process flips output/race<i> between a real directory (holding files named like the
        // hidden files' blobs) and a symlink to the blob's host directory. If the merge's walk or
        // copy follows the symlink on the host, the blob's content lands in the codebase.
        const targets = hostPathsOfSecrets().slice(0, 5);
        assert.ok(targets.length > 0, "found the hidden files' blobs in the data dir");
        const pairs = targets.map((t) => [t.slice(0, t.lastIndexOf('/')), t.slice(t.lastIndexOf('/') + 1)]);
        await attempt('merge TOCTOU: directory <-> symlink swap', async (a) => {
          const s = await srv.createSession(A);
          const script = `import os, time
os.chdir('/workspace/output')
pairs = ${JSON.stringify(pairs)}
end = time.time() + 12
for i, (d, n) in enumerate(pairs):
    os.makedirs('real%d' % i, exist_ok=True)
k = 0
while time.time() < end:
    k += 1
    for i, (d, n) in enumerate(pairs):
        try:
            os.rename('real%d' % i, 'race%d' % i)
            with open('race%d/%s' % (i, n), 'w') as f:
                f.write('harmless %d\\n' % k)
            time.sleep(0.0002)
            os.rename('race%d' % i, 'real%d' % i)
            os.symlink(d, 'race%d' % i)
            time.sleep(0.0002)
            os.unlink('race%d' % i)
        except OSError:
            pass
`;
          await a.sess(
            s.id,
            `cat > /tmp/race.py <<'EOF'\n${script}EOF\n(python3 /tmp/race.py >/dev/null 2>&1 &) ; echo started`,
          );
          const end = Date.now() + 10_000;
          let merges = 0;
          while (Date.now() < end && merges < 400) {
            await a.sess(s.id, `ls /workspace/output >/dev/null 2>&1; echo $RANDOM > /workspace/output/tick`);
            merges++;
          }
          await srv.destroySession(s.id);
          await nothingRunsAfter(
            a,
            'after DestroySession of the TOCTOU session (a python process was still running in it)',
          );
          console.log(`merge TOCTOU: ${merges} merges raced against the swapper`);
          await scanOutputFolder(a);
          await a.sh(A, `cat /workspace/output/race*/* /workspace/output/real*/* 2>/dev/null; true`);
        });
      });

      it('through /proc/self/root, /proc/<pid>/cwd, /proc/<pid>/fd, /dev/fd', async () => {
        await attempt('/proc/self/root', async (a) => {
          await a.sh(
            A,
            `ls -la /proc/self/root${WS}/ 2>/dev/null; cat /proc/self/root${WS}/.env /proc/1/root${WS}/.env 2>/dev/null; true`,
            {
              names: true,
            },
          );
        });
        await attempt('/proc/<pid>/cwd', async (a) => {
          await a.sh(
            A,
            `sleep 5 & cd ${WS}/src; for p in /proc/[0-9]*; do ls -a $p/cwd/ 2>/dev/null; cat $p/cwd/.env $p/cwd/../.env 2>/dev/null; done; kill %1; true`,
            { names: true },
          );
        });
        await attempt('/proc/<pid>/fd', async (a) => {
          const r = await a.sh(
            A,
            `for p in /proc/[0-9]*; do for f in $p/fd/*; do t=$(readlink $f 2>/dev/null); echo "FD $f -> $t";` +
              ` if [ -d "$f" ]; then ls -a "$f"/ 2>/dev/null; cat "$f"/.env 2>/dev/null; fi;` +
              ` case "$t" in /*) timeout 1 head -c 4096 "$f" 2>/dev/null;; esac; done; done; true`,
          );
          if (r.stdout.includes(srv.dataDir))
            a.leak(
              'a sandbox process holds a descriptor into the data dir',
              r.stdout
                .split('\n')
                .filter((l) => l.includes(srv.dataDir))
                .join('\n'),
            );
        });
        await attempt('/dev/fd', async (a) => {
          await a.sh(
            A,
            `ls -la /dev/fd/ 2>&1; for f in /dev/fd/*; do timeout 1 cat "$f" 2>/dev/null; done; cat /dev/fd/3/.env 2>/dev/null; true`,
          );
        });
      });

      it('view-level files are placeholders without content', async () => {
        // agent-safe plus one view rule: the placeholder must hold none of the real bytes.
        const cb = await srv.createCodebase('view-fixture');
        const canary = `AFCANARY-view-${randomBytes(10).toString('hex')}`;
        tally.secrets.push(canary);
        await srv.upload(cb.id, 'docs/spec.txt', `${canary}\n`);
        await srv.upload(cb.id, 'README.md', 'readme\n');
        const rules = [
          ...agentSafeRules(),
          {
            pattern: '/docs/**',
            type: PatternType.PATTERN_TYPE_GLOB,
            permission: Permission.PERMISSION_VIEW,
            priority: 200,
          },
        ];
        const V = (await srv.createSandbox(cb.id, rules)).id;
        await attempt('read a view-only file (cat, chmod, nested userns root, /proc/self/root, copy)', async (a) => {
          const r = await a.sh(
            V,
            `ls -la ${WS}/docs; cat ${WS}/docs/spec.txt; chmod 644 ${WS}/docs/spec.txt && cat ${WS}/docs/spec.txt;` +
              ` unshare -Ur cat ${WS}/docs/spec.txt; unshare -Ur sh -c 'chmod 644 ${WS}/docs/spec.txt; cat ${WS}/docs/spec.txt';` +
              ` cat /proc/self/root${WS}/docs/spec.txt; cp ${WS}/docs/spec.txt ${WS}/output/c && cat ${WS}/output/c;` +
              ` python3 -c "import os;print(os.stat('${WS}/docs/spec.txt').st_size)"; true`,
          );
          assert.match(r.stdout, /spec\.txt/, 'view files are listed');
        });
        await srv.destroySandbox(V);
      });
    });

    describe('the host stays out of reach', () => {
      it('the data dir by its absolute host path', async () => {
        await attempt('data dir by path', async (a) => {
          const d = q(srv.dataDir);
          await a.sh(
            A,
            `ls -la ${d} 2>/dev/null && ${leakIf('datadir-listed')}; find ${d} -type f 2>/dev/null | head -50; grep -rIas ${fx.prefix} ${d} 2>/dev/null;` +
              ` cat /proc/1/root${srv.dataDir}/* 2>/dev/null; true`,
          );
          const targets = hostPathsOfSecrets();
          if (targets.length)
            await a.sh(
              A,
              targets
                .slice(0, 20)
                .map((t) => `cat ${q(t)} 2>/dev/null`)
                .join('; ') + '; true',
            );
        });
      });

      it('paths guessed from /proc/1/mountinfo', async () => {
        await attempt('mountinfo guesses', async (a) => {
          const r = await a.sh(A, `cat /proc/1/mountinfo /proc/self/mountinfo 2>/dev/null`);
          const roots = new Set<string>();
          for (const line of r.stdout.split('\n')) {
            const f = line.split(' ');
            for (const p of [f[3], f[4]]) {
              if (!p || !p.startsWith('/') || p === '/') continue;
              const parts = p.split('/');
              for (let i = 2; i <= parts.length; i++) roots.add(parts.slice(0, i).join('/'));
            }
          }
          const guesses = [...roots]
            .filter((p) => !/^\/(proc|sys|dev|usr|lib|bin|sbin|etc)(\/|$)/.test(p))
            .slice(0, 200);
          const cmd = guesses
            .map(
              (g) =>
                `ls -a ${q(g)} 2>/dev/null; cat ${q(g)}/.env ${q(g)}/*/.env 2>/dev/null; timeout 2 grep -rIas ${fx.prefix} ${q(g)} 2>/dev/null`,
            )
            .join('; ');
          await a.sh(A, (cmd || 'true') + '; true', { timeoutSec: 60 });
          if (r.stdout.includes(srv.dataDir))
            console.log(`note: the sandbox's mountinfo reveals the data dir path ${srv.dataDir} (path only)`);
        });
      });

      it("other sandboxes' layers", async () => {
        const cb = await srv.createCodebase('other-tenant');
        const other = `AFCANARY-other-${randomBytes(10).toString('hex')}`;
        tally.secrets.push(other);
        const B = (await srv.createSandbox(cb.id, presetRules('full-access'))).id;
        const sess = await srv.createSession(B);
        await srv.sessionExec(
          sess.id,
          `mkdir -p /workspace/output /tmp/b && echo ${other} > /workspace/output/mine && echo ${other} > /tmp/b/mine && echo ok`,
        );
        await attempt("find another sandbox's layer", async (a) => {
          await a.sh(
            A,
            `for d in /* ; do case "$d" in /usr|/opt|/proc|/sys|/dev|/bin|/sbin|/lib|/lib32|/lib64|/libx32) continue;; esac;` +
              ` timeout 10 grep -rIs ${fx.prefix}-other "$d" 2>/dev/null; timeout 10 find "$d" -name '*${B}*' 2>/dev/null | head; done;` +
              ` ls ${q(srv.dataDir)} 2>/dev/null; true`,
            { timeoutSec: 60 },
          );
        });
        await srv.destroySession(sess.id);
        await srv.destroySandbox(B);
      });

      it("the host's home, /root, host /tmp", async () => {
        await attempt('host home and /root', async (a) => {
          const r = await a.sh(
            A,
            `ls -la /root /home ${HOST_HOME} 2>&1; cat ${HOST_HOME}/.af-sec-canary-${RUN} /root/.af-sec-canary-${RUN} /tmp/.af-sec-canary-${RUN} ~/.af-sec-canary-${RUN} 2>/dev/null;` +
              ` cat /root/.bash_history /root/.ssh/* 2>/dev/null | head -c 1000; ls -la /root/.ssh 2>/dev/null && ${leakIf('root-ssh')}; true`,
          );
          if (r.out.includes(`.af-sec-canary-${RUN}`))
            a.leak("the host's /root or /tmp is listed inside the sandbox", r.out.slice(0, 300));
        });
      });

      it("the server's socket", async () => {
        await attempt('connect to the server socket', async (a) => {
          const s = srv.socketPath!;
          await a.sh(
            A,
            `ls -la ${q(s)} 2>/dev/null && ${leakIf('socket-visible')};` +
              ` python3 -c "import socket;s=socket.socket(socket.AF_UNIX);s.settimeout(2);s.connect(${JSON.stringify(s)});print('LE'+'AKED:socket-connect')" 2>/dev/null; true`,
          );
        });
      });
    });

    describe('read-only stays read-only', () => {
      const before_: Record<string, string> = {};
      before(async () => {
        for (const p of ['README.md', 'src/app.py', '.env'])
          before_[p] = (await srv.download(fx.codebaseId, p)).toString();
      });
      const unchanged = async (a: Attempt) => {
        for (const [p, c] of Object.entries(before_)) {
          const now = (await srv.download(fx.codebaseId, p)).toString();
          if (now !== c) a.leak(`read-only ${p} was changed`, now.slice(0, 100));
        }
        const r = await srv.exec(A, `cat ${WS}/README.md ${WS}/src/app.py`);
        if (r.stdout !== before_['README.md']! + before_['src/app.py']!)
          a.leak('read-only file changed inside the sandbox', r.stdout.slice(0, 100));
      };

      it('rename-over', async () => {
        await attempt('rename over read-only / hidden files', async (a) => {
          await a.sh(
            A,
            `echo pwned > ${WS}/output/x && mv -f ${WS}/output/x ${WS}/README.md 2>/dev/null && ${leakIf('rename-over')};` +
              ` echo pwned > ${WS}/output/y && mv -f ${WS}/output/y ${WS}/.env 2>/dev/null && ${leakIf('rename-env')};` +
              ` python3 -c "import os; os.rename('${WS}/output/y','${WS}/src/app.py')" 2>/dev/null && ${leakIf('rename-py')}; true`,
          );
          await unchanged(a);
        });
      });

      it('truncate', async () => {
        await attempt('truncate read-only files', async (a) => {
          await a.sh(
            A,
            `truncate -s 0 ${WS}/README.md 2>/dev/null && ${leakIf('truncate')}; : 2>/dev/null > ${WS}/src/app.py && ${leakIf('redirect-trunc')};` +
              ` python3 -c "open('${WS}/README.md','r+').truncate(0)" 2>/dev/null && ${leakIf('py-truncate')}; true`,
          );
          await unchanged(a);
        });
      });

      it('chmod then write', async () => {
        await attempt('chmod then write', async (a) => {
          await a.sh(
            A,
            `chmod 666 ${WS}/README.md 2>/dev/null; chmod 777 ${WS} ${WS}/src 2>/dev/null; echo pwned >> ${WS}/README.md 2>/dev/null && ${leakIf('chmod-write')};` +
              ` echo x > ${WS}/src/new.py 2>/dev/null && ${leakIf('create-in-ro-dir')}; rm -f ${WS}/README.md 2>/dev/null; test -e ${WS}/README.md || ${leakIf('unlink')}; true`,
          );
          await unchanged(a);
        });
      });

      it('mount and unshare', async () => {
        await attempt('mount, remount rw, nested user namespace remount', async (a) => {
          await a.sh(
            A,
            `mount -t tmpfs none ${WS} 2>/dev/null && ${leakIf('mount')}; mount -o remount,rw ${WS} 2>/dev/null && ${leakIf('remount')};` +
              ` unshare -Urm sh -c 'mount -o remount,rw,bind ${WS} && echo pwned > ${WS}/README.md && echo LE""AKED:nested-remount-write' 2>/dev/null;` +
              ` unshare -Urm sh -c 'mount -o remount,rw,bind ${WS}/src && echo pwned > ${WS}/src/app.py && echo LE""AKED:nested-remount-write2' 2>/dev/null;` +
              ` unshare -Urm sh -c 'umount -l ${WS} && ls -a ${WS}; cat ${WS}/.env' 2>/dev/null; true`,
            { names: true },
          );
          await unchanged(a);
        });
      });

      it('a none-level name created in the writable folder is not merged', async () => {
        await attempt('create output/.env and output/x.key', async (a) => {
          await a.sh(A, `echo planted > ${WS}/output/.env.local; echo planted > ${WS}/output/x.key; true`);
          const files = (await srv.listFiles(fx.codebaseId)).map((f) => f.path);
          for (const p of ['output/.env.local', 'output/x.key'])
            if (files.includes(p)) a.leak(`none-level path ${p} was merged into the codebase`, files.join(' '));
        });
      });

      it("ptrace / signal another sandbox's process", async () => {
        const B = (await srv.createSandbox(fx.codebaseId, agentSafeRules())).id;
        const sess = await srv.createSession(B);
        const marker = 3000 + Math.floor(Math.random() * 900);
        await srv.sessionExec(sess.id, `sleep ${marker}.5 >/dev/null 2>&1 & echo started`);
        const victims = await waitFor(
          () => processesMatching(`sleep ${marker}.5`).filter((p) => p.cmd.startsWith('sleep ')),
          (v) => v.length > 0,
          5000,
        );
        assert.ok(victims.length > 0, "the other sandbox's process is running on the host");
        const pids = victims.map((v) => v.pid).join(' ');
        await attempt("ptrace / kill / proc access to another sandbox's process", async (a) => {
          await a.sh(
            A,
            `ls /proc | grep -E '^[0-9]+$' | while read p; do [ "$(tr '\\0' ' ' < /proc/$p/cmdline 2>/dev/null)" = "sleep ${marker}.5 " ] && ${leakIf('other-sandbox-process-visible')}; done;` +
              ` for p in ${pids}; do kill -9 $p 2>/dev/null && ${leakIf('kill')}; timeout 3 strace -p $p -e trace=none 2>/dev/null && ${leakIf('strace')};` +
              ` timeout 5 gdb -batch -p $p -ex 'info proc' 2>/dev/null | grep -q 'process $p' && ${leakIf('gdb')};` +
              ` python3 -c "import ctypes,sys;l=ctypes.CDLL(None);r=l.ptrace(16,$p,0,0);print('LE'+'AKED:ptrace' if r==0 else 'no')" 2>/dev/null;` +
              ` cat /proc/$p/environ 2>/dev/null && ${leakIf('environ')}; done; true`,
          );
          const still = processesMatching(`sleep ${marker}.5`).filter((p) => p.cmd.startsWith('sleep '));
          if (still.length === 0) a.leak("another sandbox's process was killed from this sandbox", pids);
          await srv.destroySession(sess.id);
          await srv.destroySandbox(B);
          await nothingRunsAfter(a, "after DestroySession + DestroySandbox of the victim's session");
        });
      });
    });

    describe('no process outlives its command, session or sandbox', () => {
      const spawners = (base: number) =>
        [
          `setsid sleep ${base}.1 >/dev/null 2>&1 < /dev/null &`,
          `nohup sleep ${base}.2 >/dev/null 2>&1 &`,
          `(sleep ${base}.3 >/dev/null 2>&1 &) &`,
          `python3 -c "import os,time` +
            `\nif os.fork()==0:\n os.setsid()\n if os.fork()==0:\n  os.execvp('sleep',['sleep','${base}.4'])\n os._exit(0)" </dev/null >/dev/null 2>&1`,
          `unshare -Upf sleep ${base}.5 >/dev/null 2>&1 </dev/null &`,
          `sh -c "trap '' HUP TERM INT; exec sleep ${base}.6" >/dev/null 2>&1 </dev/null &`,
        ].join('\n') + '\necho spawned';

      const survivors = (base: number) =>
        waitFor(
          () => processesMatching(`sleep ${base}.`).filter((p) => !p.cmd.includes('bwrap')),
          (v) => v.length === 0,
          5000,
        );

      it('after an Exec', async () => {
        await attempt('double fork / setsid / nohup survive an Exec', async (a) => {
          const base = 5100 + Math.floor(Math.random() * 800);
          const r = await a.sh(A, spawners(base), { timeoutSec: 20 });
          assert.match(r.stdout, /spawned/);
          const left = await survivors(base);
          if (left.length) a.leak('processes outlived the Exec', JSON.stringify(left));
        });
      });

      it('after a session is destroyed', async () => {
        await attempt('double fork / setsid / nohup survive DestroySession', async (a) => {
          const base = 6100 + Math.floor(Math.random() * 800);
          const s = await srv.createSession(A);
          await a.sess(s.id, spawners(base));
          await srv.destroySession(s.id);
          const left = await survivors(base);
          if (left.length) a.leak('processes outlived the session', JSON.stringify(left));
          await nothingRunsAfter(a, 'after DestroySession (session that spawned double forks)');
        });
      });

      it('after the sandbox is destroyed', async () => {
        await attempt('background processes survive DestroySandbox', async (a) => {
          const base = 7100 + Math.floor(Math.random() * 800);
          const S = (await srv.createSandbox(fx.codebaseId, agentSafeRules())).id;
          const s = await srv.createSession(S);
          await a.sess(s.id, `sleep ${base}.7 >/dev/null 2>&1 & ` + spawners(base));
          await srv.destroySandbox(S);
          const left = await survivors(base);
          if (left.length) a.leak('processes outlived the sandbox', JSON.stringify(left));
          await nothingRunsAfter(a, 'after DestroySandbox with a live session');
        });
      });

      it("no process of this server's sandboxes runs once everything ended", async () => {
        await attempt('host has no sandbox-uid process left', async (a) => {
          const left = await waitFor(
            () => commandProcessesOf(srv.dataDir),
            (v) => v.length === 0,
            5000,
          );
          if (left.length)
            a.leak(
              `processes still run as host uid ${SANDBOX_HOST_UID}`,
              JSON.stringify(left.map((p) => `${p.pid}: …${p.cmd.slice(-160)}`)),
            );
        });
      });
    });

    describe('network is off', () => {
      let tcp: Server;
      let tcpPort = 0;
      let tcpHits = 0;
      let udpHits = 0;
      let udpPort = 0;
      let unixHits = 0;
      const udp = createSocket('udp4');
      const unixServers: Server[] = [];
      const unixPath = join('/tmp', `af-sec-${RUN}.sock`);
      const abstractName = `af-sec-abstract-${RUN}`;

      before(async () => {
        tcp = createTcpServer((s) => {
          tcpHits++;
          s.destroy();
        });
        await new Promise<void>((r) => tcp.listen(0, '0.0.0.0', () => r()));
        tcpPort = (tcp.address() as { port: number }).port;
        udp.on('message', () => udpHits++);
        await new Promise<void>((r) => udp.bind(0, '0.0.0.0', () => r()));
        udpPort = udp.address().port;
        for (const path of [unixPath, `\0${abstractName}`]) {
          const s = createTcpServer((c) => {
            unixHits++;
            c.destroy();
          });
          await new Promise<void>((r) => s.listen(path, () => r()));
          unixServers.push(s);
        }
        hostFiles.push(unixPath);
      });

      after(() => {
        tcp.close();
        udp.close();
        for (const s of unixServers) s.close();
      });

      it('TCP to a host loopback listener (and the host address)', async () => {
        await attempt('tcp connect', async (a) => {
          const hostIps = (await import('node:os')).networkInterfaces();
          const ips = Object.values(hostIps)
            .flat()
            .filter((i) => i && i.family === 'IPv4')
            .map((i) => i!.address);
          const cmd = ips
            .map(
              (ip) =>
                `timeout 3 bash -c 'echo hi > /dev/tcp/${ip}/${tcpPort}' 2>/dev/null && ${leakIf('tcp-' + ip)};` +
                ` timeout 3 curl -s -m 2 http://${ip}:${tcpPort}/ >/dev/null 2>&1; [ $? -eq 52 ] && ${leakIf('curl-' + ip)}`,
            )
            .join('; ');
          await a.sh(
            A,
            cmd + `; timeout 5 curl -s -m 3 -o /dev/null http://example.com/ && ${leakIf('internet')}; true`,
            {
              timeoutSec: 60,
            },
          );
          await sleep(200);
          if (tcpHits) a.leak(`host TCP listener got ${tcpHits} connection(s) from the sandbox`, `port ${tcpPort}`);
        });
      });

      it('UDP and DNS', async () => {
        await attempt('udp send / dns', async (a) => {
          const ns = (readFileSync('/etc/resolv.conf', 'utf8').match(/^nameserver\s+(\S+)/m) ?? [])[1] ?? '1.1.1.1';
          await a.sh(
            A,
            `python3 - <<'EOF' 2>/dev/null
import socket
for ip in ('127.0.0.1', '${ns}'):
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
        s.sendto(b'x', (ip, ${udpPort}))
    except Exception as e:
        pass
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
    q = b'\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x07example\\x03com\\x00\\x00\\x01\\x00\\x01'
    s.sendto(q, ('${ns}', 53))
    s.recvfrom(512)
    print('LE' + 'AKED:dns-reply')
except Exception:
    pass
EOF
timeout 5 getent hosts example.com && ${leakIf('getent')}; true`,
          );
          await sleep(200);
          if (udpHits) a.leak(`host UDP listener got ${udpHits} datagram(s)`, `port ${udpPort}`);
        });
      });

      it('a Unix socket outside the sandbox (path and abstract)', async () => {
        await attempt('unix socket connect', async (a) => {
          await a.sh(
            A,
            `python3 - <<'EOF' 2>/dev/null
import socket
for addr in (${JSON.stringify(unixPath)}, '\\0${abstractName}', '/run/systemd/private', '/var/run/docker.sock'):
    try:
        s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(addr)
        print('LE' + 'AKED:unix-' + addr.replace('\\0', '@'))
    except Exception:
        pass
EOF
true`,
          );
          await sleep(200);
          if (unixHits) a.leak(`host Unix listener got ${unixHits} connection(s)`, `${unixPath} / @${abstractName}`);
        });
      });
    });

    describe('resource limits hold and the server keeps serving', () => {
      /** Runs `fn` while a second client keeps calling the server; returns the worst latency. */
      async function whileProbing<T>(fn: () => Promise<T>): Promise<{ value: T; worstMs: number; failures: number }> {
        const { probe, close } = await startServerProbe();
        let stop = false;
        let worst = 0;
        let failures = 0;
        const loop = (async () => {
          while (!stop) {
            const t = Date.now();
            const ok = await probe();
            worst = Math.max(worst, Date.now() - t);
            if (!ok) failures++;
            await sleep(250);
          }
        })();
        try {
          const value = await fn();
          return { value, worstMs: worst, failures };
        } finally {
          stop = true;
          await loop;
          // An open channel keeps reconnecting after the server stops, and keeps this file's process alive.
          close();
        }
      }
      async function startServerProbe() {
        // A second, independent channel: "other clients".
        const { CodebaseServiceClient } = await import('../../src/generated/codebase');
        const { credentials } = await import('@grpc/grpc-js');
        const c = new CodebaseServiceClient(srv.address, credentials.createInsecure());
        const probe = () =>
          new Promise<boolean>((r) =>
            c.listCodebases(
              { ownerId: '', pageSize: 1, pageToken: '' },
              srv.md(),
              { deadline: Date.now() + 5000 },
              (e) => r(!e),
            ),
          );
        return { probe, close: () => c.close() };
      }

      it('fill the disk (bounded at 256 MiB in the writable layer)', async () => {
        await attempt('disk fill', async (a) => {
          const {
            value: r,
            worstMs,
            failures,
          } = await whileProbing(() =>
            a.sh(A, `dd if=/dev/zero of=${WS}/output/fill bs=1M count=256 2>&1 | tail -1; echo rc=$?`, {
              timeoutSec: 90,
            }),
          );
          console.log(
            `disk fill: ${r.stdout.trim().replace(/\n/g, ' | ')}; other client worst latency ${worstMs} ms, failures ${failures}`,
          );
          if (failures)
            a.leak('the server stopped answering other clients during a disk fill', `${failures} failed probes`);
          assert.ok(await srv.healthy());
          await srv.exec(A, `rm -f ${WS}/output/fill`);
        });
      });

      it(
        'fork bomb under a pids limit',
        rootOnly('a non-root server without a delegated cgroup refuses pids limits (tested in sandbox-lifecycle)'),
        async () => {
          await attempt('fork bomb', async (a) => {
            const limit = 64;
            const S = (await srv.createSandbox(fx.codebaseId, agentSafeRules(), { pidsLimit: limit })).id;
            let peak = 0;
            const sampler = setInterval(() => (peak = Math.max(peak, sandboxProcessesOf(srv.dataDir).length)), 100);
            const t0 = Date.now();
            const {
              value: r,
              worstMs,
              failures,
            } = await whileProbing(() =>
              srv
                // Bounded even without a limit: depth 10 is at most ~2k processes, each living 3 s.
                .exec(
                  S,
                  `b(){ if [ $1 -gt 0 ]; then b $(($1-1)) & b $(($1-1)) & fi; sleep 3; }; b 10; wait; echo survived`,
                  { timeoutSec: 8 },
                )
                .then((x) => ({ ok: true as const, code: x.exitCode, out: x.stdout + x.stderr }))
                .catch((e) => ({ ok: false as const, code: e.code as number, out: String(e.details) })),
            );
            clearInterval(sampler);
            a.scan(r.out, 'fork bomb output');
            console.log(
              `fork bomb: returned after ${Date.now() - t0} ms (${r.ok ? 'exit ' + r.code : 'grpc status ' + r.code}); peak host processes of the sandbox uid ${peak} (limit ${limit}); other client worst latency ${worstMs} ms, failures ${failures}`,
            );
            if (peak > limit + 8) a.leak(`pids limit not enforced: ${peak} processes (limit ${limit})`, '');
            // A precise count: fork sleeping children until the kernel refuses.
            const counted = await srv.exec(
              S,
              `python3 -c "
import os, sys, time
n = 0
try:
    for i in range(400):
        if os.fork() == 0:
            time.sleep(4); os._exit(0)
        n += 1
except OSError as e:
    print('refused', e.errno)
print('forked', n)"`,
              { timeoutSec: 15 },
            );
            const forked = Number(/forked (\d+)/.exec(counted.stdout)?.[1] ?? -1);
            console.log(
              `fork count under pids limit ${limit}: ${forked} children forked (${counted.stdout.includes('refused') ? 'then refused' : 'never refused'})`,
            );
            if (forked < 0 || forked >= limit)
              a.leak(
                `pids limit not enforced: ${forked} children forked under a limit of ${limit}`,
                counted.stdout + counted.stderr,
              );
            if (failures) a.leak('the server stopped answering during a fork bomb', `${failures}`);
            const left = await waitFor(
              () => commandProcessesOf(srv.dataDir),
              (v) => v.length === 0,
              10_000,
            );
            if (left.length)
              a.leak(
                'fork bomb processes left behind after the Exec returned',
                `${left.length} processes: ${JSON.stringify(left.slice(0, 5).map((p) => `${p.pid}: …${p.cmd.slice(-120)}`))}`,
              );
            assert.ok(await srv.healthy());
            await srv.destroySandbox(S);
          });
        },
      );

      it(
        'unbounded memory under a memory limit',
        rootOnly('a non-root server without a delegated cgroup refuses memory limits (tested in sandbox-lifecycle)'),
        async () => {
          await attempt('memory hog', async (a) => {
            const limit = 64 * 1024 * 1024;
            const S = (await srv.createSandbox(fx.codebaseId, agentSafeRules(), { memoryBytes: limit })).id;
            let peak = 0;
            const sampler = setInterval(() => {
              for (const p of sandboxProcessesOf(srv.dataDir)) {
                try {
                  const m = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'));
                  if (m) peak = Math.max(peak, Number(m[1]) * 1024);
                } catch {
                  /* gone */
                }
              }
            }, 50);
            const { value: r } = await whileProbing(() =>
              srv
                // Bounded even without a limit: stops by itself at 1 GiB and says so.
                .exec(
                  S,
                  `python3 -c "a=[]\nfor i in range(128): a.append(bytearray(8*1024*1024)); a[-1][::4096]=b'x'*2048\nprint('hog-finished')"; echo exit=$?`,
                  { timeoutSec: 20 },
                )
                .then((x) => ({ ok: true as const, code: x.exitCode, out: x.stdout + x.stderr }))
                .catch((e) => ({ ok: false as const, code: e.code as number, out: String(e.details) })),
            );
            clearInterval(sampler);
            console.log(
              `memory hog: ${r.ok ? 'exit ' + r.code : 'grpc status ' + r.code}: ${r.out.trim().slice(-120)}; peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB (limit 64 MiB)`,
            );
            if (peak > limit * 1.25) a.leak(`memory limit not enforced: a sandbox process reached ${peak} bytes`, '');
            if (r.out.includes('hog-finished'))
              a.leak('memory hog allocated 1 GiB under a 64 MiB limit', r.out.slice(-200));
            assert.ok(await srv.healthy());
            await srv.destroySandbox(S);
          });
        },
      );

      it('print gigabytes to stdout (unary Exec and ExecStream)', async () => {
        await attempt('stdout flood', async (a) => {
          const rssBefore = rssBytes(srv.pid);
          const { value, worstMs, failures } = await whileProbing(async () => {
            const unary = await srv
              .exec(A, `head -c 2000000000 /dev/zero | tr '\\0' a; echo done`, { timeoutSec: 10, deadlineMs: 60_000 })
              .then((x) => `ok, ${x.stdout.length} bytes of stdout, exit ${x.exitCode}`)
              .catch((e) => `grpc status ${e.code}: ${String(e.details).slice(0, 120)}`);
            const stream = await srv.execStream(A, `head -c 2000000000 /dev/zero | tr '\\0' b`, {
              timeoutSec: 10,
              maxBytes: 16 << 20,
              deadlineMs: 60_000,
            });
            return {
              unary,
              stream: `${stream.total} bytes streamed, cancelled=${stream.cancelled}, error=${stream.error?.code ?? 'none'}`,
            };
          });
          const afterRss = rssBytes(srv.pid);
          console.log(
            `stdout flood: unary → ${value.unary}; stream → ${value.stream}; server RSS ${(rssBefore / 2 ** 20).toFixed(0)} → ${(afterRss / 2 ** 20).toFixed(0)} MiB; other client worst latency ${worstMs} ms, failures ${failures}`,
          );
          if (failures) a.leak('the server stopped answering during a stdout flood', `${failures}`);
          assert.ok(srv.alive(), 'server process is alive');
          assert.ok(await srv.healthy());
          const left = await waitFor(
            () => commandProcessesOf(srv.dataDir),
            (v) => v.length === 0,
            10_000,
          );
          if (left.length)
            a.leak(
              'flood processes left behind',
              JSON.stringify(left.slice(0, 5).map((p) => `${p.pid}: …${p.cmd.slice(-160)}`)),
            );
        });
      });
    });

    describe('summary', () => {
      it(
        'no container outlives its sandbox',
        { skip: runtime.name !== 'docker' && 'Docker sandboxes only' },
        async () => {
          await attempt('a destroyed sandbox leaves no container', async (a) => {
            const S = (await srv.createSandbox(fx.codebaseId, agentSafeRules())).id;
            await srv.exec(S, 'sleep 1000 >/dev/null 2>&1 &');
            await srv.destroySandbox(S);
            const { status, body } = await engineGet(DOCKER.socket, `/containers/json?all=1`);
            assert.equal(status, 200);
            if (body.includes(S)) a.leak('the container of a destroyed sandbox is still on the engine', body);
            if (!body.includes(A)) a.leak('the live sandbox has no container: this check would see nothing', body);
          });
        },
      );

      it('no leaks and the server is still up', async () => {
        assert.ok(srv.alive(), `server died:\n${srv.log}`);
        assert.ok(await srv.healthy());
        console.log(tally.summary());
        assert.equal(tally.leaks.length, 0, JSON.stringify(tally.leaks, null, 1));
      });
    });
  });
}
