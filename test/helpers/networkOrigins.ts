/**
 * Origins on this machine's loopback that stand for the internet in the network tests: an
 * HTTP server, an HTTPS one (a self-signed certificate made with openssl), a raw TCP echo, a
 * stub npm registry, and a git repository over smart HTTPS (`git http-backend`). The server
 * under test maps test names (`allowed.test`, `denied.test`) to 127.0.0.1 with
 * `--network-test-hosts`, so no test traffic leaves the machine.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { join } from 'node:path';
import { makeTempDir } from './server';

export interface Origins {
  http: number;
  https: number;
  echo: number;
  /** Paths asked of the HTTP origin, to prove a refused request never reached it. */
  seen: string[];
  close(): Promise<void>;
}

const listen = (server: net.Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );

/** The npm registry's answer for one package, as `npm view` reads it. */
const PACKUMENT = JSON.stringify({
  name: 'left-pad',
  'dist-tags': { latest: '1.3.0' },
  versions: { '1.3.0': { name: 'left-pad', version: '1.3.0', dist: { tarball: 'http://x/left-pad-1.3.0.tgz' } } },
});

export async function startOrigins(): Promise<Origins> {
  const dir = makeTempDir('af-origins-');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=allowed.test',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const repo = join(dir, 'repo.git');
  execFileSync('git', ['init', '-q', '--bare', repo]);
  const work = join(dir, 'work');
  execFileSync('git', ['init', '-q', work]);
  fs.writeFileSync(join(work, 'f'), 'x\n');
  const git = (...a: string[]) =>
    execFileSync('git', ['-C', work, '-c', 'user.name=t', '-c', 'user.email=t@t', ...a], { stdio: 'ignore' });
  git('add', 'f');
  git('commit', '-q', '-m', 'one');
  git('push', '-q', repo, 'HEAD:refs/heads/main');

  const seen: string[] = [];
  const httpServer = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    if (req.url === '/left-pad') {
      res.setHeader('content-type', 'application/json');
      res.end(PACKUMENT);
      return;
    }
    if (req.url === '/big') {
      res.setHeader('content-length', String(100 * 1024 * 1024));
      const chunk = Buffer.alloc(1024 * 1024, 7);
      let sent = 0;
      const more = () => {
        while (sent < 100) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
      return;
    }
    res.end(`hello from ${req.headers.host}${req.url}\n`);
  });
  const httpsServer = https.createServer(
    { key: fs.readFileSync(join(dir, 'key.pem')), cert: fs.readFileSync(join(dir, 'cert.pem')) },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://x');
      if (!url.pathname.startsWith('/repo.git/')) {
        res.end(`secure hello ${url.pathname}\n`);
        return;
      }
      // Smart HTTP through git's own CGI (what ls-remote asks: info/refs?service=git-upload-pack).
      const cgi = spawn('git', ['http-backend'], {
        env: {
          ...process.env,
          GIT_PROJECT_ROOT: dir,
          GIT_HTTP_EXPORT_ALL: '1',
          PATH_INFO: url.pathname,
          QUERY_STRING: url.search.slice(1),
          REQUEST_METHOD: req.method ?? 'GET',
          CONTENT_TYPE: req.headers['content-type'] ?? '',
        },
      });
      req.pipe(cgi.stdin);
      const out: Buffer[] = [];
      cgi.stdout.on('data', (c: Buffer) => out.push(c));
      cgi.on('close', () => {
        const all = Buffer.concat(out);
        const split = all.indexOf('\r\n\r\n');
        for (const line of all.subarray(0, split).toString().split('\r\n')) {
          const [name, ...value] = line.split(':');
          if (name?.toLowerCase() === 'status') res.statusCode = Number(value.join(':').trim().split(' ')[0]);
          else if (name) res.setHeader(name, value.join(':').trim());
        }
        res.end(all.subarray(split + 4));
      });
    },
  );
  const echo = net.createServer((s) => s.pipe(s));
  const ports = { http: await listen(httpServer), https: await listen(httpsServer), echo: await listen(echo) };
  return {
    ...ports,
    seen,
    async close() {
      httpServer.closeAllConnections();
      httpsServer.closeAllConnections();
      for (const s of [httpServer, httpsServer, echo]) await new Promise<void>((r) => s.close(() => r()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
