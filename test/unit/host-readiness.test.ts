/**
 * The pure verdict: facts in, each check with its cause and exact fix out. The fixes' shell
 * commands are run by a real /bin/sh where they write a file, so a quoting mistake fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  assessHost,
  bwrapTooOld,
  classifyTrialFailure,
  HOST_NOT_READY,
  notReadyMessage,
  parseBwrapVersion,
  type HostFacts,
  type Readiness,
} from '../../src/shared/hostReadiness';
import { apparmorFix, apparmorProfile, fixInline, installBwrapFix, sysctlFix } from '../../src/shared/hostFixes';

const healthy = (over: Partial<HostFacts> = {}): HostFacts => ({
  platform: 'linux',
  searchPath: '/usr/bin:/bin',
  bwrapPath: '/usr/bin/bwrap',
  bwrapRealPath: '/usr/bin/bwrap',
  bwrapVersion: { output: 'bubblewrap 0.8.0' },
  sysctls: { 'user.max_user_namespaces': '63000\n' },
  inContainer: false,
  sandboxUser: 'uid 61000',
  trial: { ok: true },
  ...over,
});
const failedTrial = (output: string): HostFacts['trial'] => ({ ok: false, exitCode: 1, output });
const check = (r: Readiness, id: string) => {
  const c = r.checks.find((x) => x.id === id);
  assert.ok(c, `check ${id}`);
  return c;
};
const statuses = (r: Readiness) => Object.fromEntries(r.checks.map((c) => [c.id, c.status]));

test('a healthy host is ready, every check passing', () => {
  const r = assessHost(healthy());
  assert.equal(r.ready, true);
  assert.deepEqual(new Set(Object.values(statuses(r))), new Set(['pass']));
  assert.match(check(r, 'kernel.apparmor_restrict_unprivileged_userns').detail, /not present on this kernel/);
});

test('not Linux: only a remote server helps', () => {
  const r = assessHost(
    healthy({ platform: 'darwin', bwrapPath: undefined, bwrapVersion: undefined, trial: undefined }),
  );
  assert.equal(r.ready, false);
  assert.equal(check(r, 'platform').status, 'fail');
  assert.match(notReadyMessage(r), /this is darwin/);
});

test('no bwrap: install it with apt-get or dnf; version and trial are skipped, not failed', () => {
  const r = assessHost(healthy({ bwrapPath: undefined, bwrapVersion: undefined, trial: undefined }));
  assert.equal(r.ready, false);
  assert.deepEqual(statuses(r), {
    platform: 'pass',
    'bwrap-installed': 'fail',
    'bwrap-version': 'skip',
    'kernel.unprivileged_userns_clone': 'pass',
    'user.max_user_namespaces': 'pass',
    'kernel.apparmor_restrict_unprivileged_userns': 'pass',
    'trial-sandbox': 'skip',
  });
  const msg = notReadyMessage(r);
  assert.ok(msg.startsWith(HOST_NOT_READY));
  assert.match(msg, /sudo apt-get install -y bubblewrap \(or: sudo dnf install -y bubblewrap\)/);
});

test('bwrap versions: below 0.7.0 fails (numeric, not string, comparison); an unreadable one leaves it to the trial', () => {
  assert.deepEqual(parseBwrapVersion('bubblewrap 0.11.1\n'), [0, 11, 1]);
  assert.deepEqual(parseBwrapVersion('bubblewrap 0.4'), [0, 4, 0]);
  assert.equal(parseBwrapVersion('bwrap (Debian patched)'), undefined);
  assert.equal(bwrapTooOld([0, 6, 1]), true, 'Ubuntu 22.04');
  assert.equal(bwrapTooOld([0, 7, 0]), false);
  assert.equal(bwrapTooOld([0, 11, 0]), false);
  assert.equal(bwrapTooOld([1, 0, 0]), false);

  const old = assessHost(healthy({ bwrapVersion: { output: 'bubblewrap 0.3.0' }, trial: undefined }));
  assert.equal(old.ready, false);
  assert.match(check(old, 'bwrap-version').cause!, /0\.3\.0 is older than 0\.7\.0.*--size/);
  assert.match(fixInline(check(old, 'bwrap-version').fix!), /--only-upgrade bubblewrap/);
  assert.equal(check(old, 'trial-sandbox').status, 'skip');

  const odd = assessHost(healthy({ bwrapVersion: { output: 'bwrap (patched)' } }));
  assert.equal(odd.ready, true);
  assert.equal(check(odd, 'bwrap-version').status, 'skip');

  const broken = assessHost(
    healthy({ bwrapVersion: { error: 'error while loading shared libraries: libcap.so.2' }, trial: undefined }),
  );
  assert.equal(check(broken, 'bwrap-version').status, 'fail');
  assert.equal(broken.ready, false);
});

test("bubblewrap's own messages are told apart", () => {
  assert.equal(classifyTrialFailure('bwrap: setting up uid map: Permission denied'), 'uid-map-denied');
  assert.equal(
    classifyTrialFailure(
      'bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces.',
    ),
    'userns-not-permitted',
  );
  assert.equal(
    classifyTrialFailure('bwrap: Creating new namespace failed: Operation not permitted'),
    'userns-not-permitted',
  );
  assert.equal(
    classifyTrialFailure(
      'bwrap: Creating new namespace failed: nesting depth or /proc/sys/user/max_*_namespaces exceeded (ENOSPC)',
    ),
    'userns-limit',
  );
  assert.equal(
    classifyTrialFailure("bwrap: Can't mount proc on /newroot/proc: Operation not permitted"),
    'mount-denied',
  );
  assert.equal(classifyTrialFailure('bwrap: Unknown option --clearenv'), 'unknown-option');
  assert.equal(classifyTrialFailure('bwrap: execvp /bin/sh: No such file or directory'), 'other');
});

test('AppArmor restriction with a failing trial: the profile for the real bwrap path, said once', () => {
  const r = assessHost(
    healthy({
      bwrapPath: '/usr/local/bin/bwrap',
      bwrapRealPath: '/opt/bubblewrap/bin/bwrap',
      sysctls: { 'kernel.apparmor_restrict_unprivileged_userns': '1' },
      trial: failedTrial('bwrap: setting up uid map: Permission denied'),
    }),
  );
  assert.equal(r.ready, false);
  const aa = check(r, 'kernel.apparmor_restrict_unprivileged_userns');
  assert.equal(aa.status, 'fail');
  assert.equal(aa.fix!.steps[0].file!.path, '/etc/apparmor.d/agentfense-bwrap');
  assert.match(
    aa.fix!.steps[0].file!.content,
    /^profile agentfense-bwrap \/opt\/bubblewrap\/bin\/bwrap flags=\(unconfined\) \{\n {2}userns,\n\}$/m,
  );
  assert.equal(aa.fix!.steps[1].run, 'sudo apparmor_parser -r /etc/apparmor.d/agentfense-bwrap');
  const trial = check(r, 'trial-sandbox');
  assert.equal(trial.status, 'fail');
  assert.equal(trial.sameFixAs, 'kernel.apparmor_restrict_unprivileged_userns');
  const msg = notReadyMessage(r);
  assert.equal(msg.split('apparmor_parser').length, 2, msg);
});

test('a restrictive sysctl where the trial runs anyway passes (setuid bwrap, a profile in place)', () => {
  const r = assessHost(
    healthy({
      sysctls: { 'kernel.apparmor_restrict_unprivileged_userns': '1', 'kernel.unprivileged_userns_clone': '0' },
    }),
  );
  assert.equal(r.ready, true);
  assert.match(check(r, 'kernel.unprivileged_userns_clone').detail, /= 0, but the trial sandbox ran/);
});

test('a restrictive sysctl before bwrap is even installed fails too: every fix at once', () => {
  const r = assessHost(
    healthy({
      bwrapPath: undefined,
      bwrapVersion: undefined,
      trial: undefined,
      sysctls: { 'user.max_user_namespaces': '0' },
    }),
  );
  assert.deepEqual(
    r.checks.filter((c) => c.status === 'fail').map((c) => c.id),
    ['bwrap-installed', 'user.max_user_namespaces'],
  );
  assert.match(notReadyMessage(r), /sudo sysctl -w user\.max_user_namespaces=10000/);
});

test('kernel.unprivileged_userns_clone=0 and max_user_namespaces=0 get their sysctl, now and persisted', () => {
  const clone = assessHost(
    healthy({
      sysctls: { 'kernel.unprivileged_userns_clone': '0' },
      trial: failedTrial('bwrap: No permissions to creating new namespace, likely because…'),
    }),
  );
  const c = check(clone, 'kernel.unprivileged_userns_clone');
  assert.equal(c.status, 'fail');
  assert.deepEqual(
    c.fix!.steps.filter((s) => s.run).map((s) => s.run),
    [
      'sudo sysctl -w kernel.unprivileged_userns_clone=1',
      "echo 'kernel.unprivileged_userns_clone = 1' | sudo tee -a /etc/sysctl.d/60-agentfense-userns.conf",
    ],
  );
  assert.equal(check(clone, 'trial-sandbox').sameFixAs, 'kernel.unprivileged_userns_clone');

  const max = assessHost(
    healthy({
      sysctls: { 'user.max_user_namespaces': '0' },
      trial: failedTrial(
        'bwrap: Creating new namespace failed: nesting depth or /proc/sys/user/max_*_namespaces exceeded (ENOSPC)',
      ),
    }),
  );
  assert.equal(check(max, 'user.max_user_namespaces').status, 'fail');
  assert.equal(check(max, 'trial-sandbox').sameFixAs, 'user.max_user_namespaces');
});

test('failures no sysctl explains: a limit in an enclosing namespace, a container, a masked /proc, an old option, anything else', () => {
  const limit = assessHost(
    healthy({
      trial: failedTrial(
        'bwrap: Creating new namespace failed: nesting depth or /proc/sys/user/max_*_namespaces exceeded (ENOSPC)',
      ),
    }),
  );
  assert.match(fixInline(check(limit, 'trial-sandbox').fix!), /user\.max_user_namespaces=10000/);

  const container = assessHost(
    healthy({ inContainer: true, trial: failedTrial('bwrap: Creating new namespace failed: Operation not permitted') }),
  );
  assert.match(check(container, 'trial-sandbox').cause!, /inside this container/);
  assert.match(
    fixInline(check(container, 'trial-sandbox').fix!),
    /seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined/,
  );

  const proc = assessHost(
    healthy({
      inContainer: true,
      trial: failedTrial("bwrap: Can't mount proc on /newroot/proc: Operation not permitted"),
    }),
  );
  assert.match(check(proc, 'trial-sandbox').cause!, /\/proc is masked/);

  const option = assessHost(
    healthy({ bwrapVersion: { output: 'bwrap (patched)' }, trial: failedTrial('bwrap: Unknown option --clearenv') }),
  );
  assert.match(check(option, 'trial-sandbox').fix!.summary, /upgrade bubblewrap/);

  const other = assessHost(healthy({ trial: failedTrial('bwrap: execvp /bin/sh: No such file or directory\n') }));
  assert.equal(other.ready, false);
  assert.match(
    notReadyMessage(other),
    /bwrap could not start a sandbox: bwrap: execvp \/bin\/sh: No such file or directory/,
  );
});

test('a sysctl that is not a number is reported, not guessed', () => {
  const r = assessHost(healthy({ sysctls: { 'user.max_user_namespaces': 'unreadable (EACCES)' } }));
  assert.equal(check(r, 'user.max_user_namespaces').status, 'skip');
  assert.equal(r.ready, true);
});

/** What `run` writes when a real shell runs it with `sudo tee` replaced by cat. */
function shellOutput(run: string): string {
  const cmd = run.replace(/\| sudo tee (-a )?\S+$/, '');
  assert.notEqual(cmd, run, `${run} writes with sudo tee`);
  return execFileSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });
}

test('the commands write exactly the files they show, even for a bwrap path with a space or a quote', () => {
  for (const path of ['/usr/bin/bwrap', "/opt/my tools/it's/bwrap"]) {
    const step = apparmorFix(path).steps[0];
    assert.equal(step.file!.content, apparmorProfile(path));
    assert.equal(shellOutput(step.run!), step.file!.content);
  }
  assert.match(apparmorProfile('/opt/my tools/bwrap'), /profile agentfense-bwrap "\/opt\/my tools\/bwrap" flags/);
  const persist = sysctlFix('kernel.unprivileged_userns_clone').steps[1];
  assert.equal(shellOutput(persist.run!), persist.file!.content);
});

test('fixInline: the main commands in order, then the first other way', () => {
  assert.equal(
    fixInline(installBwrapFix()),
    'install bubblewrap (the package is called bubblewrap everywhere): sudo apt-get install -y bubblewrap (or: sudo dnf install -y bubblewrap)',
  );
  assert.match(
    fixInline(apparmorFix('/usr/bin/bwrap')),
    /sudo tee \/etc\/apparmor\.d\/agentfense-bwrap, then sudo apparmor_parser -r \/etc\/apparmor\.d\/agentfense-bwrap \(or: sudo sysctl -w kernel\.apparmor_restrict_unprivileged_userns=0\)$/,
  );
});
