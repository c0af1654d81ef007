/**
 * Deterministic synthetic workspaces: a source-tree-shaped folder of N files totalling
 * about B bytes, generated from a seed so two runs (and two machines) measure the same
 * thing. Never committed: every run writes them into its own temp dir.
 *
 * The tree includes the things agent-safe treats specially (.env files, secrets/, *.key,
 * .git/), so permission handling is part of what is measured, not skipped.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface SyntheticFile {
  /** Codebase path, `/`-separated. */
  path: string;
  size: number;
}

export interface SyntheticWorkspace {
  root: string;
  files: SyntheticFile[];
  totalBytes: number;
}

export interface SyntheticOptions {
  fileCount: number;
  totalBytes: number;
  seed: number;
}

/** mulberry32: tiny, fast, good enough for reproducible layouts and contents. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DIR_WORDS = [
  'src',
  'lib',
  'core',
  'utils',
  'api',
  'models',
  'views',
  'tests',
  'docs',
  'config',
  'services',
  'components',
];
const EXTS = ['.ts', '.ts', '.ts', '.js', '.py', '.py', '.md', '.json', '.css', '.txt'];
/** Files agent-safe hides or that live in hidden folders: a few per thousand, as in real repos. */
const SPECIAL_PATHS = [
  '.env',
  '.env.local',
  'secrets/api.txt',
  'deploy/server.key',
  'deploy/cert.pem',
  'credentials.json',
  '.git/HEAD',
  '.git/config',
];

/** Printable ASCII lines, so `cat`/`grep` in the sandbox behave as on source code. */
function fillText(buf: Buffer, rand: () => number): void {
  // 64 KiB pattern block from the seed, repeated with a per-file offset: fast for 100 MB,
  // still different bytes per file (so digests and dedup do not make uploads free).
  const block = textBlock(rand);
  const offset = Math.floor(rand() * block.length);
  for (let i = 0; i < buf.length; i++) buf[i] = block[(offset + i) % block.length]!;
  // Make every file unique even when two files share an offset.
  const tag = Buffer.from(`// ${rand().toString(36).slice(2)}\n`);
  tag.copy(buf, 0, 0, Math.min(tag.length, buf.length));
}

let cachedBlock: Buffer | undefined;
function textBlock(rand: () => number): Buffer {
  if (cachedBlock) return cachedBlock;
  const b = Buffer.alloc(64 * 1024);
  for (let i = 0; i < b.length; i++) {
    b[i] = i % 72 === 71 ? 10 : 32 + Math.floor(rand() * 95);
  }
  cachedBlock = b;
  return b;
}

/** Lays out paths: ~40 files per folder, folders up to three levels deep. */
function layoutPaths(count: number, rand: () => number): string[] {
  const paths: string[] = [];
  const special = SPECIAL_PATHS.slice(0, Math.min(SPECIAL_PATHS.length, Math.max(0, count - 1)));
  paths.push(...special);
  const dirs: string[] = [];
  const dirCount = Math.max(1, Math.ceil((count - special.length) / 40));
  for (let d = 0; d < dirCount; d++) {
    const depth = 1 + Math.floor(rand() * 3);
    const parts: string[] = [];
    for (let k = 0; k < depth; k++) parts.push(DIR_WORDS[Math.floor(rand() * DIR_WORDS.length)]!);
    dirs.push(`${parts.join('/')}/m${d}`);
  }
  for (let i = paths.length; i < count; i++) {
    const dir = dirs[i % dirs.length]!;
    const ext = EXTS[Math.floor(rand() * EXTS.length)]!;
    paths.push(`${dir}/file${i}${ext}`);
  }
  return paths;
}

/**
 * File sizes: a heavy-tailed spread (most files a few KB, a few much larger), scaled so
 * the sum is `totalBytes` (±1 byte per file of rounding).
 */
function layoutSizes(count: number, totalBytes: number, rand: () => number): number[] {
  const weights = Array.from({ length: count }, () => Math.exp(rand() * 4));
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => Math.max(1, Math.round((w / sum) * totalBytes)));
}

export function generateWorkspace(root: string, opts: SyntheticOptions): SyntheticWorkspace {
  const rand = seededRandom(opts.seed);
  const paths = layoutPaths(opts.fileCount, rand);
  const sizes = layoutSizes(paths.length, opts.totalBytes, rand);
  const files: SyntheticFile[] = [];
  const made = new Set<string>();
  let totalBytes = 0;
  for (let i = 0; i < paths.length; i++) {
    const path = paths[i]!;
    const size = sizes[i]!;
    const abs = join(root, path);
    const dir = dirname(abs);
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    const buf = Buffer.allocUnsafe(size);
    fillText(buf, rand);
    writeFileSync(abs, buf);
    files.push({ path, size });
    totalBytes += size;
  }
  return { root, files, totalBytes };
}

/** Writes one file of exactly `size` bytes (used for the fixed 1 KB / 1 MB read targets). */
export function writeSizedFile(root: string, path: string, size: number, seed: number): SyntheticFile {
  const abs = join(root, path);
  mkdirSync(dirname(abs), { recursive: true });
  const buf = Buffer.allocUnsafe(size);
  fillText(buf, seededRandom(seed));
  writeFileSync(abs, buf);
  return { path, size };
}
