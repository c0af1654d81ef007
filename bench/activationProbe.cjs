// Times require() + activate() of a built extension bundle with `vscode` stubbed
// (bench/vscodeStub.cjs), in a fresh process so the module cache is cold. A proxy for
// activation cost, not a VS Code measurement. Prints one JSON line.
//   node activationProbe.cjs /path/to/extension.js
'use strict';
const Module = require('node:module');
const path = require('node:path');
const os = require('node:os');
const fs = require('node:fs');

const stubPath = path.join(__dirname, 'vscodeStub.cjs');
const originalResolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'vscode') return stubPath;
  return originalResolve.call(this, request, ...rest);
};

const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'af-activation-'));
const memento = () => {
  const m = new Map();
  return {
    get: (k, d) => (m.has(k) ? m.get(k) : d),
    update: async (k, v) => void m.set(k, v),
    keys: () => [...m.keys()],
    setKeysForSync() {},
  };
};
const context = {
  subscriptions: [],
  extensionPath: path.dirname(path.dirname(process.argv[2])),
  extensionUri: require(stubPath).fileUri(path.dirname(path.dirname(process.argv[2]))),
  globalState: memento(),
  workspaceState: memento(),
  secrets: {
    get: async () => undefined,
    store: async () => {},
    delete: async () => {},
    onDidChange: () => ({ dispose() {} }),
  },
  globalStorageUri: require(stubPath).fileUri(storage),
  storageUri: undefined,
  logUri: require(stubPath).fileUri(storage),
  globalStoragePath: storage,
  storagePath: storage,
  logPath: storage,
  extensionMode: 1,
  asAbsolutePath: (p) => path.join(path.dirname(path.dirname(process.argv[2])), p),
  environmentVariableCollection: require(stubPath),
  extension: require(stubPath),
};

(async () => {
  const t0 = process.hrtime.bigint();
  const ext = require(process.argv[2]);
  const t1 = process.hrtime.bigint();
  await ext.activate(context);
  const t2 = process.hrtime.bigint();
  const out = {
    requireMs: Number(t1 - t0) / 1e6,
    activateMs: Number(t2 - t1) / 1e6,
    subscriptions: context.subscriptions.length,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  try {
    if (ext.deactivate) await ext.deactivate();
  } catch {
    // deactivation is not measured
  }
  fs.rmSync(storage, { recursive: true, force: true });
  process.exit(0);
})().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
