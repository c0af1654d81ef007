/** "Upload Workspace": brings the folder's codebase up to date now instead of before the next run. */
import * as vscode from 'vscode';
import type { Ctx } from '../context';
import { rootOf } from '../workspaceRoots';
import { formatBytes } from '../../core/formatBytes';

export async function uploadWorkspace(ctx: Ctx): Promise<void> {
  const folder = await ctx.pickFolder('Workspace folder to upload');
  if (!folder) return;
  const result = await ctx.sync.sync(rootOf(folder));
  const msg =
    result.uploadedFiles === 0
      ? `AgentFense: ${folder.name} is up to date in codebase ${result.index.codebaseId}.`
      : `AgentFense: uploaded ${result.uploadedFiles} file${result.uploadedFiles === 1 ? '' : 's'} (${formatBytes(result.uploadedBytes)}) of ${folder.name}${result.fresh ? ' into a new codebase' : ''}.`;
  vscode.window.setStatusBarMessage(`$(cloud-upload) ${msg}`, 5000);
  ctx.codebaseMayHaveChanged(folder);
}
