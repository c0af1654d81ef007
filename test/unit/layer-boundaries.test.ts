/**
 * The layer boundaries of ARCHITECTURE.md are lint errors (eslint.config.mjs), so `npm test`
 * fails on a wrong import. Linted here as if the code were in each layer.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ESLint } from 'eslint';

const root = join(__dirname, '..', '..');
const eslint = new ESLint({ cwd: root });

async function importErrors(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\nexport const x = 1;\n`, { filePath: join(root, file) });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer boundaries', () => {
  const refused: [string, string][] = [
    ['src/server/sandbox/x.ts', "import * as vscode from 'vscode';"],
    ['src/server/x.ts', "import { SandboxClient } from '../client';"],
    ['src/server/x.ts', "import { Ctx } from '../extension/context';"],
    ['src/client/x.ts', "import type { Uri } from 'vscode';"],
    ['src/client/x.ts', "import { serve } from '../server/serverProcess';"],
    ['src/shared/x.ts', "import { SandboxClient } from '../client/sandboxClient';"],
    ['src/shared/x.ts', "import { PresetsTreeProvider } from '../extension/presets/presetsView';"],
    ['src/extension/x.ts', "import { LiveSandbox } from '../server/sandbox/liveSandbox';"],
    ['src/extension/run/x.ts', "import { LiveSandbox } from '../../server/sandbox/liveSandbox';"],
    ['src/extension/run/x.ts', "import { serve } from '../../server';"],
    ['src/core/x.ts', "import * as vscode from 'vscode';"],
    ['src/mcp/x.ts', "import * as vscode from 'vscode';"],
    ['src/mcp/x.ts', "import { Ctx } from '../extension/context';"],
    ['src/mcp/x.ts', "import { LiveSandbox } from '../server/sandbox/liveSandbox';"],
    ['src/core/sync/x.ts', "import { SandboxClient } from '../../client';"],
    ['src/core/x.ts', "import { Ctx } from '../extension/context';"],
    ['src/server/x.ts', "import { WorkspaceSync } from '../core/sync/workspaceSync';"],
    ['src/shared/x.ts', "import { Emitter } from '../core/events';"],
    // The cloud backend sits beside the client, on the core.
    ['src/cloud/x.ts', "import * as vscode from 'vscode';"],
    ['src/cloud/x.ts', "import { SandboxClient } from '../client';"],
    ['src/cloud/x.ts', "import { LiveSandbox } from '../server/sandbox/liveSandbox';"],
    ['src/core/x.ts', "import { E2bBackend } from '../cloud/e2bBackend';"],
    ['src/client/x.ts', "import { E2bBackend } from '../cloud/e2bBackend';"],
    ['src/server/x.ts', "import { E2bBackend } from '../cloud/e2bBackend';"],
    // Capability folders meet through the context, not each other's files.
    ['src/extension/run/x.ts', "import { setCloudApiKey } from '../cloud/cloudKey';"],
    ['src/extension/run/x.ts', "import { ReviewController } from '../review/reviewController';"],
    ['src/extension/review/x.ts', "import { presetPicker } from '../presets/presetPicker';"],
    ['src/extension/server/x.ts', "import { startRunTerminal } from '../run/runCommand';"],
  ];
  for (const [file, source] of refused) {
    it(`refuses in ${file}: ${source}`, async () => {
      assert.equal((await importErrors(file, source)).length, 1);
    });
  }

  it('allows what the layers are for', async () => {
    assert.deepEqual(
      await importErrors(
        'src/extension/x.ts',
        "import * as vscode from 'vscode';\nimport { SandboxClient } from '../client';",
      ),
      [],
    );
    // The extension's own server/ folder (connection, embedded server) is not the server layer.
    assert.deepEqual(await importErrors('src/extension/x.ts', "import { Connection } from './server/connection';"), []);
    assert.deepEqual(
      await importErrors('src/extension/run/x.ts', "import { Connection } from '../server/connection';"),
      [],
    );
    assert.deepEqual(await importErrors('src/client/x.ts', "import { getPreset } from '../shared/presets';"), []);
    assert.deepEqual(await importErrors('src/extension/x.ts', "import { E2bBackend } from '../cloud/e2bBackend';"), []);
    assert.deepEqual(
      await importErrors('src/cloud/x.ts', "import type { SandboxBackend } from '../core/backend';"),
      [],
    );
    assert.deepEqual(
      await importErrors('src/client/x.ts', "import type { SandboxBackend } from '../core/backend';"),
      [],
    );
    assert.deepEqual(
      await importErrors('src/extension/x.ts', "import { WorkspaceSync } from '../core/sync/workspaceSync';"),
      [],
    );
    assert.deepEqual(
      await importErrors(
        'src/extension/review/x.ts',
        "import { isCancellation } from '../server/errorReporting';\nimport type { Ctx } from '../context';",
      ),
      [],
    );
    assert.deepEqual(
      await importErrors(
        'src/server/x.ts',
        "import { getPreset } from '../shared/presets';\nimport { Sandbox } from '../generated/sandbox';",
      ),
      [],
    );
  });
});
