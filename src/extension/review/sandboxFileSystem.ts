/**
 * `agentfense:/<codebaseId>/<path>`: the codebase's version of a file, read-only, for diffs
 * and quick diff. `?empty` gives an empty file (the missing side of an add or delete).
 */
import * as vscode from 'vscode';
import { FileNotFoundError } from '../../client';
import type { SandboxBackend } from '../../core/backend';

export const SANDBOX_SCHEME = 'agentfense';

export function sandboxUri(codebaseId: string, path: string, { empty = false } = {}): vscode.Uri {
  return vscode.Uri.from({ scheme: SANDBOX_SCHEME, path: `/${codebaseId}/${path}`, query: empty ? 'empty' : '' });
}

export function parseSandboxUri(uri: vscode.Uri): { codebaseId: string; path: string; empty: boolean } {
  const [, codebaseId, ...rest] = uri.path.split('/');
  return { codebaseId, path: rest.join('/'), empty: uri.query === 'empty' };
}

const CACHE_ENTRIES = 32;

export class SandboxFileSystem implements vscode.FileSystemProvider {
  private readonly emitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.emitter.event;
  /** Small LRU: a diff editor reads the same file several times in a row. */
  private readonly cache = new Map<string, Uint8Array>();

  constructor(private readonly backend: SandboxBackend) {}

  /** The codebase changed (after a run): drop cached bytes and tell open editors. */
  invalidate(uris?: vscode.Uri[]): void {
    const changed = uris ?? [...this.cache.keys()].map((k) => vscode.Uri.parse(k));
    for (const u of changed) this.cache.delete(u.toString());
    if (changed.length) this.emitter.fire(changed.map((uri) => ({ type: vscode.FileChangeType.Changed, uri })));
  }

  async readFile(uri: vscode.Uri): Promise<Uint8Array> {
    const { codebaseId, path, empty } = parseSandboxUri(uri);
    if (empty) return new Uint8Array();
    const key = uri.toString();
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    try {
      const bytes = new Uint8Array(await this.backend.readFile(codebaseId, path));
      this.cache.set(key, bytes);
      if (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
      return bytes;
    } catch (e) {
      if (e instanceof FileNotFoundError) throw vscode.FileSystemError.FileNotFound(uri);
      throw e;
    }
  }

  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    const { path } = parseSandboxUri(uri);
    if (path === '') return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0 };
    const bytes = await this.readFile(uri);
    return {
      type: vscode.FileType.File,
      ctime: 0,
      mtime: 0,
      size: bytes.byteLength,
      permissions: vscode.FilePermission.Readonly,
    };
  }

  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined);
  }

  readDirectory(): [string, vscode.FileType][] {
    return [];
  }

  createDirectory(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  writeFile(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  delete(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  rename(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }
}
