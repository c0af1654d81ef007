/**
 * The first activation opens the "Get started" walkthrough, once, as VS Code's own extensions
 * do. `agentfense.walkthrough.openOnFirstRun: false` turns it off (VS Code's
 * `workbench.welcomePage.walkthroughs.openOnInstall` is application-scoped: an extension host in
 * code-server or a remote never sees the user's value, so it cannot serve here).
 */
import * as vscode from 'vscode';

const SHOWN_KEY = 'agentfense.walkthroughShown';
const WALKTHROUGH = 'agentfense.agentfense-vscode#agentfense.start';

export async function openWalkthroughOnce(extension: vscode.ExtensionContext, wanted: boolean): Promise<void> {
  if (!wanted || extension.globalState.get<boolean>(SHOWN_KEY)) return;
  await extension.globalState.update(SHOWN_KEY, true);
  await vscode.commands.executeCommand('workbench.action.openWalkthrough', WALKTHROUGH, false);
}
