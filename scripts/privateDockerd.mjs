// A private Docker engine for tests and the bench: Debian's dockerd (package docker.io) with its
// own data-root, exec-root, socket and pidfile in a temp dir, no bridge and no iptables rules, so
// it never touches a system Docker or the host's network; stop() ends it and removes the dir.
// And the image Docker sandboxes run in tests, made without a registry (none is reachable here):
// the host's own shells, core tools and Python with the libraries they load, imported with `docker import`.
//   const engine = await startPrivateDockerd({ socketGroup: 1001 });   // root only
//   const image = await importToolsImage(engine.socket);               // 'agentfense-test/tools:1'
//   await engine.stop();
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const TOOLS_IMAGE = 'agentfense-test/tools:2';

/** Where dockerd is, or undefined (not installed: apt-get install docker.io). */
export function dockerdPath() {
  for (const p of ['/usr/sbin/dockerd', '/usr/bin/dockerd']) if (fs.existsSync(p)) return p;
  return undefined;
}

/** GET on the engine's socket; resolves with the status code and body. */
export function engineGet(socket, path) {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath: socket, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
  });
}

/**
 * Starts dockerd as root in a fresh temp dir and resolves once it answers /_ping.
 * `socketGroup`: a gid whose members may use the socket (an unprivileged test user).
 */
export async function startPrivateDockerd({ socketGroup, timeoutMs = 60_000 } = {}) {
  const dockerd = dockerdPath();
  if (!dockerd) throw new Error('dockerd is not installed (apt-get install -y docker.io)');
  if (process.getuid?.() !== 0) throw new Error('a private dockerd needs root');
  // Short: the socket path must fit in sockaddr_un, and containerd's sockets live under exec-root.
  const dir = fs.mkdtempSync(join(tmpdir(), 'afd-'));
  fs.chmodSync(dir, 0o711);
  const socket = join(dir, 'docker.sock');
  const log = fs.openSync(join(dir, 'dockerd.log'), 'a');
  const args = [
    '--iptables=false',
    '--ip6tables=false',
    '--bridge=none',
    '--data-root',
    join(dir, 'root'),
    '--exec-root',
    join(dir, 'exec'),
    '-H',
    `unix://${socket}`,
    '--pidfile',
    join(dir, 'dockerd.pid'),
    ...(socketGroup === undefined ? [] : ['--group', String(socketGroup)]),
  ];
  const proc = spawn(dockerd, args, { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) break;
    const ping = await engineGet(socket, '/_ping').catch(() => undefined);
    if (ping?.status === 200) break;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async () => {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      const killed = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(killed);
    }
    // Anything dockerd left mounted under its dir (it unmounts its own on a clean exit).
    for (const m of fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').reverse()) {
      const target = m.split(' ')[1]?.replace(/\\040/g, ' ');
      if (target?.startsWith(dir + '/')) execFileSync('umount', ['-l', target], { stdio: 'ignore' });
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  if (proc.exitCode !== null || Date.now() > deadline) {
    const tail = fs.readFileSync(join(dir, 'dockerd.log'), 'utf8').split('\n').slice(-15).join('\n');
    await stop();
    throw new Error(`dockerd did not start:\n${tail}`);
  }
  return { socket, dir, pid: proc.pid, stop };
}

/** The host's shells and core tools (their Debian packages' programs), and every library they load. */
function toolsRootfs() {
  const root = fs.mkdtempSync(join(tmpdir(), 'af-rootfs-'));
  const programs = new Set();
  for (const pkg of ['coreutils', 'dash', 'bash', 'grep', 'sed', 'procps', 'findutils']) {
    for (const f of execFileSync('dpkg', ['-L', pkg], { encoding: 'utf8' }).split('\n')) {
      if (!/^\/(usr\/)?s?bin\/[^/]+$/.test(f)) continue;
      const st = fs.lstatSync(f, { throwIfNoEntry: false });
      if (st?.isFile() && st.mode & 0o111) programs.add(f);
    }
  }
  // Python (the escape suite's probes use it): the interpreter and its standard library.
  const pythonLib = '/usr/lib/python3.11';
  const pythonFiles = [];
  if (fs.existsSync('/usr/bin/python3.11')) {
    programs.add('/usr/bin/python3.11');
    const walk = (dir) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (['dist-packages', 'site-packages', 'test', '__pycache__', 'idlelib', 'tkinter'].includes(e.name)) continue;
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile()) pythonFiles.push(p);
      }
    };
    walk(pythonLib);
  }
  const libs = new Set();
  for (const p of [...programs, ...pythonFiles.filter((f) => f.endsWith('.so'))]) {
    let out = '';
    try {
      out = execFileSync('ldd', [p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      continue; // static, or not an ELF file
    }
    for (const m of out.matchAll(/(\/[^\s]+) \(0x/g)) libs.add(m[1]);
  }
  // Debian's merged /usr: /bin, /sbin, /lib and /lib64 are links into /usr.
  const merged = (f) => f.replace(/^\/(bin|sbin|lib|lib64)\//, '/usr/$1/');
  for (const f of [...programs, ...libs]) {
    const target = join(root, merged(f));
    fs.mkdirSync(dirname(target), { recursive: true });
    if (!fs.existsSync(target)) fs.copyFileSync(fs.realpathSync(f), target);
    fs.chmodSync(target, 0o755);
  }
  for (const f of pythonFiles) {
    const target = join(root, f);
    fs.mkdirSync(dirname(target), { recursive: true });
    fs.copyFileSync(f, target);
  }
  if (pythonFiles.length) fs.symlinkSync('python3.11', join(root, 'usr', 'bin', 'python3'));
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) {
    if (fs.existsSync(join(root, 'usr', d))) fs.symlinkSync(`usr/${d}`, join(root, d));
  }
  if (!fs.existsSync(join(root, 'usr', 'bin', 'sh'))) fs.symlinkSync('dash', join(root, 'usr', 'bin', 'sh'));
  fs.mkdirSync(join(root, 'etc'));
  fs.writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  fs.writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\n');
  for (const d of ['tmp', 'workspace', 'proc', 'dev', 'sys']) fs.mkdirSync(join(root, d));
  return root;
}

/** Imports the tools image into the engine (once per engine); resolves with its name. */
export async function importToolsImage(socket) {
  const present = await engineGet(socket, `/images/${encodeURIComponent(TOOLS_IMAGE)}/json`);
  if (present.status === 200) return TOOLS_IMAGE;
  const root = toolsRootfs();
  try {
    const [repo, tag] = TOOLS_IMAGE.split(':');
    await new Promise((resolve, reject) => {
      const tar = spawn('tar', ['-C', root, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const req = http.request(
        {
          socketPath: socket,
          method: 'POST',
          path: `/images/create?fromSrc=-&repo=${encodeURIComponent(repo)}&tag=${encodeURIComponent(tag)}`,
          headers: { 'content-type': 'application/x-tar' },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (body += d));
          res.on('end', () =>
            res.statusCode === 200 && !body.includes('"error"')
              ? resolve()
              : reject(new Error(`docker import failed: ${res.statusCode} ${body}`)),
          );
        },
      );
      req.on('error', reject);
      tar.stdout.pipe(req);
    });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  return TOOLS_IMAGE;
}
