/** Can the embedded server sandbox commands on this machine? vscode-free. */
import { execFile } from 'node:child_process';

export type SupportResult = { ok: true; bwrapVersion: string } | { ok: false; reason: string };

export const BWRAP_FIX =
  'Install bubblewrap (sudo apt install bubblewrap) or set agentfense.endpoint to a remote AgentFense server.';

export function checkEmbeddedServerSupport(platform: NodeJS.Platform = process.platform): Promise<SupportResult> {
  if (platform !== 'linux') {
    return Promise.resolve({
      ok: false,
      reason: `The embedded AgentFense server needs Linux (bubblewrap); this is ${platform}. Set agentfense.endpoint to a remote AgentFense server.`,
    });
  }
  return new Promise((resolve) => {
    execFile('bwrap', ['--version'], { timeout: 5000 }, (error, stdout) => {
      if (error) {
        resolve({
          ok: false,
          reason: `AgentFense needs bubblewrap to sandbox commands, and \`bwrap\` was not found. ${BWRAP_FIX}`,
        });
      } else {
        resolve({ ok: true, bwrapVersion: stdout.trim() });
      }
    });
  });
}
