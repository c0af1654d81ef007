/**
 * The cloud backend's pure parts: which provider is reached where, what a sandbox gets of each
 * file under its rules, the in-sandbox listing (any name, byte for byte) and its comparison, the
 * network policy as E2B's options, and the provider's errors as typed ones.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthenticationError, NotFoundError, RateLimitError, TimeoutError } from 'e2b';
import { CloudError, cloudError } from '../../src/cloud/cloudErrors';
import {
  CloudSettingsError,
  describeProvider,
  parseProvider,
  providerConnection,
} from '../../src/cloud/cloudProviders';
import { ALL_TRAFFIC, e2bNetworkOptions } from '../../src/cloud/e2bNetwork';
import type { StoredEntry } from '../../src/cloud/localCodebases';
import { pushPlan } from '../../src/cloud/uploadPlan';
import { isUtf8Path, manifestChanges, parseManifest, shownPath } from '../../src/cloud/workspaceManifest';
import { networkLabels } from '../../src/shared/networkPolicy';
import { PermissionEngine } from '../../src/shared/permissions';
import { getPreset } from '../../src/shared/presets';

const base = { template: 'base', timeoutMs: 60_000 };

describe('cloud providers', () => {
  it('each hosted provider is its documented domain; custom is its URLs', () => {
    assert.deepEqual(providerConnection({ ...base, provider: 'e2b' }), { domain: 'e2b.app' });
    assert.deepEqual(providerConnection({ ...base, provider: 'tencent-ags' }), {
      domain: 'ap-guangzhou.tencentags.com',
    });
    assert.deepEqual(providerConnection({ ...base, provider: 'ppio' }), { domain: 'sandbox.ppio.com' });
    assert.deepEqual(providerConnection({ ...base, provider: 'tencent-ags', domain: 'ap-shanghai.tencentags.com' }), {
      domain: 'ap-shanghai.tencentags.com',
    });
    assert.deepEqual(providerConnection({ ...base, provider: 'custom', apiUrl: 'http://127.0.0.1:4999/' }), {
      apiUrl: 'http://127.0.0.1:4999',
      sandboxUrl: 'http://127.0.0.1:4999',
    });
    assert.equal(describeProvider({ ...base, provider: 'ppio' }), 'PPIO (sandbox.ppio.com)');
  });

  it('refuses what it cannot honour, saying which setting', () => {
    assert.throws(() => parseProvider('aws'), /unknown cloud provider "aws"/);
    assert.throws(() => providerConnection({ ...base, provider: 'custom' }), /needs an API URL/);
    assert.throws(
      () => providerConnection({ ...base, provider: 'custom', apiUrl: 'http://sandboxes.example.com' }),
      (e: unknown) => e instanceof CloudSettingsError && /unencrypted; use https/.test(e.message),
    );
    assert.throws(() => providerConnection({ ...base, provider: 'custom', apiUrl: 'ftp://x' }), /http\(s\)/);
    assert.throws(
      () => providerConnection({ ...base, provider: 'e2b', apiUrl: 'https://x' }),
      /for the "custom" provider/,
    );
    assert.throws(() => providerConnection({ ...base, provider: 'e2b', domain: 'a b' }), /not a host name/);
  });
});

describe('what a cloud sandbox gets of each file', () => {
  const entry = (checksum: string, mode = 0o644): StoredEntry => ({ checksum, size: 1, mode, storedAt: 0 });
  const files = new Map<string, StoredEntry>([
    ['.env', entry('a'.repeat(64))],
    ['src/app.js', entry('b'.repeat(64))],
    ['bin/run.sh', entry('c'.repeat(64), 0o755)],
    ['output/r.txt', entry('d'.repeat(64))],
    ['.git/config', entry('e'.repeat(64))],
  ]);
  const agentSafe = new PermissionEngine(getPreset('agent-safe'));

  it('none stays here, read is unwritable (keeping x), write as it is; view-only is placeholders', () => {
    const { plan } = pushPlan(files, agentSafe, {});
    assert.deepEqual(
      plan.write.map((f) => [f.path, f.placement, f.mode.toString(8), f.checksum?.[0]]),
      [
        ['src/app.js', 'read-only', '444', 'b'],
        ['bin/run.sh', 'read-only', '555', 'c'],
        ['output/r.txt', 'writable', '644', 'd'],
      ],
    );
    const { plan: view } = pushPlan(files, new PermissionEngine(getPreset('view-only')), {});
    assert.ok(view.write.every((f) => f.placement === 'placeholder' && f.mode === 0 && f.checksum === undefined));
  });

  it('pushes only what changed, removes what left or became none, and undoes refused changes', () => {
    const { wanted } = pushPlan(files, agentSafe, {});
    const pushed = Object.fromEntries([...wanted].map(([p, f]) => [p, f.key]));
    assert.deepEqual(pushPlan(files, agentSafe, pushed).plan, { write: [], remove: [] });
    const changed = new Map(files);
    changed.set('src/app.js', entry('f'.repeat(64)));
    changed.delete('output/r.txt');
    const { plan } = pushPlan(changed, agentSafe, { ...pushed, 'old.txt': 'x' }, new Set(['bin/run.sh', 'stray.txt']));
    assert.deepEqual(
      plan.write.map((f) => f.path),
      ['src/app.js', 'bin/run.sh'],
    );
    assert.deepEqual(plan.remove.sort(), ['old.txt', 'output/r.txt', 'stray.txt']);
  });
});

describe('the in-sandbox listing', () => {
  const record = (type: string, size: number, mtime: string, path: Buffer | string) =>
    Buffer.concat([Buffer.from(`${type} ${size} ${mtime} `), Buffer.from(path), Buffer.from([0])]);

  it('keeps any name byte for byte: spaces, newlines, quotes, non-UTF-8 shown as escapes', () => {
    const listing = Buffer.concat([
      record('f', 3, '1.5', 'a b/c d.txt'),
      record('f', 0, '2.0', 'new\nline'),
      record('l', 4, '3.0', "q'$(touch PWNED)"),
      record('f', 1, '4.0', Buffer.from([0x66, 0xff, 0x2e])),
    ]).toString('base64');
    const m = parseManifest(listing);
    assert.deepEqual(Object.keys(m), ['a b/c d.txt', 'new\nline', "q'$(touch PWNED)", '\0f\\xff.']);
    assert.deepEqual(m['a b/c d.txt'], { kind: 'file', size: 3, mtime: '1.5' });
    assert.equal(m["q'$(touch PWNED)"].kind, 'link');
    assert.equal(isUtf8Path('\0f\\xff.'), false);
    assert.equal(shownPath('\0f\\xff.'), 'f\\xff.');
    assert.equal(isUtf8Path('a b/c d.txt'), true);
    // A real name that looks like an escape is just a name.
    const literal = parseManifest(record('f', 1, '1.0', 'f\\xff.').toString('base64'));
    assert.deepEqual(Object.keys(literal), ['f\\xff.']);
    assert.equal(isUtf8Path('f\\xff.'), true);
    assert.deepEqual(parseManifest(''), {});
  });

  it('finds what was added, modified (size, time or kind) and removed', () => {
    const before = parseManifest(
      Buffer.concat([
        record('f', 1, '1.0', 'same'),
        record('f', 1, '1.0', 'touched'),
        record('f', 1, '1.0', 'gone'),
      ]).toString('base64'),
    );
    const after = parseManifest(
      Buffer.concat([
        record('f', 1, '1.0', 'same'),
        record('f', 1, '1.000001', 'touched'),
        record('l', 5, '1.0', 'added'),
      ]).toString('base64'),
    );
    assert.deepEqual(manifestChanges(before, after), [
      { path: 'added', change: 'added', kind: 'link', size: 5 },
      { path: 'gone', change: 'removed' },
      { path: 'touched', change: 'modified', kind: 'file', size: 1 },
    ]);
  });
});

describe('network policy as E2B options', () => {
  it('off, on less a deny list, allow-only', () => {
    assert.deepEqual(e2bNetworkOptions({}), { allowInternetAccess: false });
    assert.deepEqual(e2bNetworkOptions(networkLabels('on')), { allowInternetAccess: true });
    assert.deepEqual(e2bNetworkOptions(networkLabels('on', [], ['10.0.0.0/8', 'evil.example'])), {
      allowInternetAccess: true,
      network: { denyOut: ['10.0.0.0/8', 'evil.example'] },
    });
    assert.deepEqual(e2bNetworkOptions(networkLabels('allow', ['pypi.org', '1.1.1.1'])), {
      allowInternetAccess: true,
      network: { allowOut: ['pypi.org', '1.1.1.1'], denyOut: [ALL_TRAFFIC] },
    });
  });

  it('a rule E2B cannot express is an error, never a looser rule', () => {
    assert.throws(() => e2bNetworkOptions(networkLabels('allow', ['pypi.org:443'])), /not ports/);
    assert.throws(() => e2bNetworkOptions(networkLabels('allow', ['*.npmjs.org'])), /wildcard/);
    assert.throws(() => e2bNetworkOptions(networkLabels('allow', ['@npm'])), /not ports/);
  });
});

describe("the provider's errors", () => {
  it('are typed, name the provider and say what to do', () => {
    const of = (e: unknown) => cloudError(e, 'PPIO (sandbox.ppio.com)', 'creating a sandbox');
    const auth = of(new AuthenticationError('Unauthorized'));
    assert.equal(auth.kind, 'auth');
    assert.match(
      auth.message,
      /^PPIO \(sandbox\.ppio\.com\): creating a sandbox failed: the API key was refused — run "AgentFense: Set Cloud API Key"/,
    );
    assert.equal(of(new RateLimitError('429')).kind, 'quota');
    assert.equal(of(new NotFoundError('sandbox x not found')).kind, 'gone');
    assert.equal(of(new Error('404: template "nope" not found')).kind, 'template');
    assert.equal(of(new TimeoutError('deadline')).kind, 'timeout');
    const net = of(
      new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }),
    );
    assert.equal(net.kind, 'network');
    assert.match(net.message, /ECONNREFUSED/);
    const same = new CloudError('gone', 'x');
    assert.equal(of(same), same);
  });
});
