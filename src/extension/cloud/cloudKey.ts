/**
 * "AgentFense: Set Cloud API Key": the provider's key, kept in the editor's secret storage (the
 * OS keychain), never in settings. Without one, E2B_API_KEY from the environment is used.
 */
import * as vscode from 'vscode';
import { CLOUD_KEY_SECRET, type Ctx } from '../context';
import { describeProvider } from '../../cloud/cloudProviders';

export async function setCloudApiKey(ctx: Ctx): Promise<void> {
  const provider = describeProvider(ctx.config.cloud);
  const key = await vscode.window.showInputBox({
    title: `AgentFense: API key for ${provider}`,
    prompt: 'Kept in the OS keychain (SecretStorage), sent only to the provider. Leave empty to remove it.',
    password: true,
    ignoreFocusOut: true,
  });
  if (key === undefined) return;
  if (key.trim() === '') await ctx.extension.secrets.delete(CLOUD_KEY_SECRET);
  else await ctx.extension.secrets.store(CLOUD_KEY_SECRET, key.trim());
  ctx.sandboxes.fireChanged();
  void vscode.window.showInformationMessage(
    key.trim() ? `AgentFense: API key for ${provider} saved.` : 'AgentFense: cloud API key removed.',
  );
}
