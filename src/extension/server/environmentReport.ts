/**
 * The Check Environment report as a Markdown document: one line per check with ✓/✗, and
 * under each failed one its cause and fix, commands in code blocks so they copy as they
 * are. vscode-free (the command only opens the text).
 */
import type { Fix } from '../../shared/hostFixes';
import type { Readiness } from '../../shared/hostReadiness';

const MARK = { pass: '✓', fail: '✗', skip: '–' } as const;

function fence(text: string, lang = 'sh'): string[] {
  return ['```' + lang, ...text.replace(/\n$/, '').split('\n'), '```'];
}

function fixMarkdown(fix: Fix): string[] {
  const lines = [`**Fix:** ${fix.summary}`, ''];
  for (const s of fix.steps) {
    lines.push(`- ${s.say}`);
    if (s.file) lines.push('', `  \`${s.file.path}\`:`, '', ...fence(s.file.content, '').map((l) => `  ${l}`));
    if (s.run) lines.push('', ...fence(s.run).map((l) => `  ${l}`));
  }
  return lines;
}

export function environmentReportMarkdown(r: Readiness, context: { endpoint?: string; checkedAt?: Date } = {}): string {
  const lines = ['# AgentFense: environment check', ''];
  lines.push(
    r.ready
      ? '**This host can run sandboxes.**'
      : '**This host cannot run sandboxes.** Fix the ✗ checks below, then run *AgentFense: Check Environment* again.',
  );
  if (context.endpoint)
    lines.push(
      '',
      `> The extension uses the remote server at \`${context.endpoint}\`; this checks the embedded server on this machine.`,
    );
  lines.push('');
  for (const c of r.checks) lines.push(`- ${MARK[c.status]} **${c.title}** — ${c.detail}`);
  for (const c of r.checks.filter((x) => x.status === 'fail')) {
    lines.push('', `## ✗ ${c.title}`, '');
    if (c.cause) lines.push(c.cause, '');
    const same = c.sameFixAs && r.checks.find((o) => o.id === c.sameFixAs);
    if (same) lines.push(`**Fix:** the fix of *${same.title}* above.`);
    else if (c.fix) lines.push(...fixMarkdown(c.fix));
  }
  if (context.checkedAt)
    lines.push('', `*Checked ${context.checkedAt.toISOString()} with \`node dist/server.js --check\`.*`);
  return lines.join('\n') + '\n';
}
