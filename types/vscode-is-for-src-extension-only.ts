// Outside src/extension, `import 'vscode'` resolves here (the `paths` of each layer's
// tsconfig.json), a file no layer lists, so tsc fails with TS6307 naming this file: the
// shared, core, client and server layers also run where there is no editor.
export {};
