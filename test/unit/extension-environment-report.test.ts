/** The Check Environment report: ✓/✗ per check, each failure's cause and fix with copyable commands. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { environmentReportMarkdown } from '../../src/extension/server/environmentReport';
import { assessHost, type HostFacts } from '../../src/shared/hostReadiness';

const facts = (over: Partial<HostFacts>): HostFacts => ({
  platform: 'linux',
  searchPath: '/usr/bin:/bin',
  bwrapPath: '/usr/bin/bwrap',
  bwrapVersion: { output: 'bubblewrap 0.9.0' },
  sysctls: {},
  inContainer: false,
  sandboxUser: "uid 1000 (the server's own user)",
  trial: { ok: true },
  ...over,
});

test('a ready host: every check ticked, no fix section', () => {
  const md = environmentReportMarkdown(assessHost(facts({})));
  assert.match(md, /^# AgentFense: environment check\n\n\*\*This host can run sandboxes\.\*\*/);
  assert.match(
    md,
    /^- ✓ \*\*A trial sandbox starts \(bwrap as uid 1000 \(the server's own user\)\)\*\* — started and exited 0$/m,
  );
  assert.doesNotMatch(md, /✗|Fix:/);
});

test('AppArmor: the failing checks crossed, the profile shown in full, each command alone in a code block', () => {
  const r = assessHost(
    facts({
      sysctls: { 'kernel.apparmor_restrict_unprivileged_userns': '1' },
      trial: { ok: false, exitCode: 1, output: 'bwrap: setting up uid map: Permission denied' },
    }),
  );
  const md = environmentReportMarkdown(r, { endpoint: 'tcp.example:50051' });
  assert.match(md, /\*\*This host cannot run sandboxes\.\*\*/);
  assert.match(
    md,
    /^- ✗ \*\*AppArmor allows bwrap user namespaces \(kernel\.apparmor_restrict_unprivileged_userns\)\*\* — kernel\.apparmor_restrict_unprivileged_userns = 1$/m,
  );
  assert.match(md, /^- ✓ \*\*bubblewrap installed\*\* — \/usr\/bin\/bwrap$/m);
  assert.match(
    md,
    /`\/etc\/apparmor\.d\/agentfense-bwrap`:\n\n {2}```\n {2}abi <abi\/4\.0>,\n {2}include <tunables\/global>\n {2}\n {2}profile agentfense-bwrap \/usr\/bin\/bwrap flags=\(unconfined\) \{\n {4}userns,\n {2}\}\n {2}```/,
  );
  assert.match(md, /```sh\n {2}sudo apparmor_parser -r \/etc\/apparmor\.d\/agentfense-bwrap\n {2}```/);
  // The trial's failure points at the fix above instead of repeating it.
  assert.match(
    md,
    /## ✗ A trial sandbox starts[^\n]*\n\nthe kernel refused bwrap a user namespace, as kernel\.apparmor_restrict_unprivileged_userns predicts\.\n\n\*\*Fix:\*\* the fix of \*AppArmor allows/,
  );
  assert.equal(md.split('apparmor_parser -r').length, 2);
  assert.match(md, /remote server at `tcp\.example:50051`/);
});

test('no bwrap: skipped checks are marked as skipped, not as passed', () => {
  const md = environmentReportMarkdown(
    assessHost(facts({ bwrapPath: undefined, bwrapVersion: undefined, trial: undefined })),
  );
  assert.match(md, /^- – \*\*bubblewrap 0\.7\.0 or newer\*\* — no bwrap to ask$/m);
  assert.match(md, /```sh\n {2}sudo apt-get install -y bubblewrap\n {2}```/);
  assert.match(md, /```sh\n {2}sudo dnf install -y bubblewrap\n {2}```/);
});
