/**
 * The preset the user chose for each folder, where agents outside VS Code can read it: VS Code
 * keeps the choice in its workspace state and mirrors it into `<storage>/active-presets.json`
 * (private to the user), so an agent that names no preset runs under the one the user picked.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FILE = 'active-presets.json';

function read(storageDir: string): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(storageDir, FILE), 'utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

export function activePresetOf(storageDir: string, folder: string): string | undefined {
  const preset = read(storageDir)[folder];
  return typeof preset === 'string' ? preset : undefined;
}

export function recordActivePreset(storageDir: string, folder: string, preset: string): void {
  const all = read(storageDir);
  if (all[folder] === preset) return;
  all[folder] = preset;
  mkdirSync(storageDir, { recursive: true, mode: 0o700 });
  const tmp = join(storageDir, `${FILE}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(all, null, 2), { mode: 0o600 });
  renameSync(tmp, join(storageDir, FILE));
}
