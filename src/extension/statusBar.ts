/** The status bar item: connection state and the active preset; a click picks the preset. */
import * as vscode from 'vscode';
import type { Ctx } from './context';

export function registerStatusBar(ctx: Ctx): void {
  const item = vscode.window.createStatusBarItem('agentfense.status', vscode.StatusBarAlignment.Left, 50);
  item.name = 'AgentFense';
  item.command = 'agentfense.selectPreset';
  const update = () => {
    const preset = ctx.presets.activeName;
    const invalid = !ctx.presets.catalog.get(preset)?.rules;
    const state = ctx.connection.state;
    const icon = {
      idle: '$(shield)',
      connecting: '$(sync~spin)',
      connected: '$(shield)',
      failed: '$(warning)',
      unsupported: '$(warning)',
    }[state];
    const what = {
      idle: '',
      connecting: 'starting',
      connected: 'connected',
      failed: 'not connected',
      unsupported: 'unsupported',
    }[state];
    // A cloud backend has no connection to keep: the status bar says where sandboxes run.
    const cloud = ctx.cloudProvider;
    item.text = cloud
      ? `$(cloud) AgentFense · ${preset}${invalid ? ' $(error)' : ''}`
      : `${icon} AgentFense${what ? ': ' + what : ''} · ${preset}${invalid ? ' $(error)' : ''}`;
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**AgentFense** — active preset \`${preset}\``);
    if (cloud) tip.appendMarkdown(`\n\nSandboxes run at ${cloud}.`);
    if (invalid)
      tip.appendMarkdown(`\n\n$(error) This preset is unknown or invalid; runs will fail until you pick another.`);
    if (ctx.connection.lastError) tip.appendMarkdown(`\n\n$(warning) ${ctx.connection.lastError}`);
    tip.appendMarkdown('\n\nClick to choose the preset.');
    item.tooltip = tip;
    item.backgroundColor =
      !cloud && (state === 'failed' || state === 'unsupported')
        ? new vscode.ThemeColor('statusBarItem.warningBackground')
        : undefined;
    item.show();
  };
  update();
  ctx.push(item, ctx.connection.onDidChangeState(update), ctx.presets.onDidChange(update));
}
