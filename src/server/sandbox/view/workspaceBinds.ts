/**
 * The binds that make a sandbox's /workspace, in mount order: the view read-only (or the root's
 * writable layer), each writable layer over its root, and the view read-only again over every
 * non-writable path inside a writable root. Both runtimes mount exactly these (bubblewrap's
 * arguments, a Docker container's Mounts), so a path looks the same in either.
 */
import { join } from 'node:path';
import type { LayerMount } from './writableLayer';

export interface WorkspaceLayout {
  viewDir: string;
  layers: readonly LayerMount[];
  readOnlyBinds: readonly string[];
}

export interface WorkspaceBind {
  source: string;
  /** Absolute, under /workspace. */
  target: string;
  readOnly: boolean;
}

export function workspaceBinds(m: WorkspaceLayout): WorkspaceBind[] {
  const binds: WorkspaceBind[] = [];
  const rootLayer = m.layers.find((l) => l.root === '');
  if (rootLayer) binds.push({ source: rootLayer.hostPath, target: '/workspace', readOnly: false });
  else binds.push({ source: m.viewDir, target: '/workspace', readOnly: true });
  for (const l of m.layers)
    if (l.root !== '') binds.push({ source: l.hostPath, target: `/workspace/${l.root}`, readOnly: false });
  for (const p of m.readOnlyBinds)
    binds.push({ source: join(m.viewDir, p), target: `/workspace/${p}`, readOnly: true });
  return binds;
}
