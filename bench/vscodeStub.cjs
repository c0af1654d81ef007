// A stand-in for the `vscode` module, good enough for activate() to run outside VS Code
// (bench/activationProbe.cjs). Every property is a callable, constructible stub that
// returns another stub; anything disposable disposes; configuration reads return their
// default. It measures our code's activation cost, not VS Code's.
'use strict';

function stub(name) {
  const target = function () {};
  // What our code assigns (item.text = ..., item.name = ...) reads back as assigned.
  const assigned = new Map();
  return new Proxy(target, {
    set(_t, prop, value) {
      assigned.set(prop, value);
      return true;
    },
    get(_t, prop) {
      if (assigned.has(prop)) return assigned.get(prop);
      if (prop === 'then') return undefined; // not a thenable: `await stub` must not hang
      if (prop === Symbol.toPrimitive) return () => '';
      if (prop === Symbol.iterator) return function* () {};
      if (prop === 'dispose') return () => {};
      if (prop === 'get') return (_key, defaultValue) => defaultValue;
      if (prop === 'toString') return () => `[vscode stub ${name}]`;
      if (prop === 'length') return 0;
      return stub(`${name}.${String(prop)}`);
    },
    apply() {
      return stub(`${name}()`);
    },
    construct() {
      return stub(`new ${name}`);
    },
  });
}

// Real own properties for every name the API exports (read from @types/vscode): bundlers'
// ESM interop copies a module's own properties, which a bare Proxy does not have.
const fs = require('node:fs');
const path = require('node:path');
const dts = fs.readFileSync(path.join(__dirname, '..', 'node_modules', '@types', 'vscode', 'index.d.ts'), 'utf8');
const api = {};
for (const m of dts.matchAll(/^\s{1,4}export (?:namespace|class|enum|const|function|let) ([A-Za-z_]+)/gm)) {
  api[m[1]] = stub(`vscode.${m[1]}`);
}
// File URIs are real enough to name real folders: activate() creates and watches the
// extension's storage under them. Anything else on them is a stub as above.
function fileUri(fsPath) {
  const real = { scheme: 'file', fsPath, path: fsPath, toString: () => `file://${fsPath}` };
  return new Proxy(real, {
    get(t, prop) {
      if (prop in t) return t[prop];
      if (prop === 'then') return undefined;
      return stub(`Uri(${fsPath}).${String(prop)}`);
    },
  });
}
const uriStub = api.Uri;
api.Uri = new Proxy(uriStub, {
  get(t, prop) {
    if (prop === 'file') return fileUri;
    if (prop === 'joinPath') return (base, ...parts) => fileUri(path.join(base.fsPath, ...parts));
    return t[prop];
  },
});
api.fileUri = fileUri;
api.version = '1.101.0';
module.exports = api;
