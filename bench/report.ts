/**
 * The results of one run: rows that each put a figure next to its same-run baseline and
 * its goal, printed as a table and written as JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { MachineInfo } from './machine';

export type Unit = 'ms' | 's' | 'µs' | '/s' | 'files/s' | 'MB/s' | 'MB' | 'KB' | 'count' | 'x';

export interface Goal {
  /** Human form, e.g. "≤ 1.5× bare bwrap". */
  text: string;
  met: boolean;
}

export interface ResultRow {
  scenario: string;
  metric: string;
  value: number;
  unit: Unit;
  baseline?: { name: string; value: number };
  /** value ÷ baseline. */
  ratio?: number;
  goal?: Goal;
  /** The original's published figure for the same thing, if it published one. */
  published?: string;
  note?: string;
}

export interface ScenarioOutcome {
  name: string;
  title: string;
  ms: number;
  rows: ResultRow[];
  /** Raw measurements (samples summaries, parameters) for anyone who wants more than the table. */
  details: Record<string, unknown>;
  error?: string;
}

export interface RunReport {
  date: string;
  mode: 'full' | 'quick';
  machine: MachineInfo;
  seed: number;
  loadAverageAtEnd?: number;
  scenarios: ScenarioOutcome[];
}

/** Builds a row; computes the ratio when there is a baseline. */
export function row(r: Omit<ResultRow, 'ratio'>): ResultRow {
  const ratio = r.baseline && r.baseline.value > 0 ? r.value / r.baseline.value : undefined;
  return { ...r, ratio };
}

export const goals = {
  ratioAtMost:
    (limit: number, what: string) =>
    (ratio: number | undefined): Goal => ({
      text: `≤ ${limit}× ${what}`,
      met: ratio !== undefined && Number.isFinite(ratio) && ratio <= limit,
    }),
  ratioAtLeast:
    (limit: number, what: string) =>
    (ratio: number | undefined): Goal => ({
      text: `≥ ${limit}× ${what}`,
      met: ratio !== undefined && Number.isFinite(ratio) && ratio >= limit,
    }),
  atMost: (limit: number, unit: Unit, value: number): Goal => ({
    text: `≤ ${limit} ${unit}`,
    met: Number.isFinite(value) && value <= limit,
  }),
  atLeast: (limit: number, unit: Unit, value: number): Goal => ({
    text: `≥ ${limit} ${unit}`,
    met: Number.isFinite(value) && value >= limit,
  }),
};

/** A row whose goal is a ratio to its baseline. */
export function ratioRow(r: Omit<ResultRow, 'ratio' | 'goal'>, goal: (ratio: number | undefined) => Goal): ResultRow {
  const built = row(r);
  return { ...built, goal: goal(built.ratio) };
}

export function formatValue(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  const n = value.toFixed(digits);
  return unit === 'count'
    ? Number.isInteger(value)
      ? String(value)
      : value.toFixed(1)
    : unit === 'x'
      ? `${n}×`
      : `${n} ${unit}`;
}

/** Three decimals below 2×, so a ratio just over a 1.05× goal does not print as 1.05×. */
function formatRatio(ratio: number): string {
  return `${ratio.toFixed(ratio < 2 ? 3 : 2)}×`;
}

function status(r: ResultRow): string {
  if (!r.goal) return '';
  return r.goal.met ? 'met' : 'MISSED';
}

function pad(cells: string[][]): string {
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  return cells
    .map((row) =>
      row
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join(' | ')
        .trimEnd(),
    )
    .join('\n');
}

/** A plain-text table (also valid Markdown) of every row of every scenario. */
export function formatTable(report: RunReport): string {
  const header = [
    'scenario',
    'metric',
    'ours',
    'baseline (same run)',
    'ratio',
    'goal',
    'status',
    'original (published)',
  ];
  const rows: string[][] = [header, header.map((h) => '-'.repeat(h.length))];
  for (const s of report.scenarios) {
    if (s.error) {
      rows.push([s.title, 'ERROR', s.error.split('\n')[0]!.slice(0, 100), '', '', '', 'ERROR', '']);
    }
    for (const r of s.rows) {
      rows.push([
        s.title,
        r.metric + (r.note ? ` (${r.note})` : ''),
        formatValue(r.value, r.unit),
        r.baseline ? `${r.baseline.name} ${formatValue(r.baseline.value, r.unit)}` : '',
        r.ratio !== undefined ? formatRatio(r.ratio) : '',
        r.goal?.text ?? '',
        status(r),
        r.published ?? '',
      ]);
    }
  }
  return pad(rows)
    .split('\n')
    .map((l) => `| ${l} |`)
    .join('\n');
}

export function formatHeader(report: RunReport): string {
  const m = report.machine;
  return [
    `AgentFense bench — ${report.mode} run, ${report.date}`,
    `machine: ${m.cpuModel}, ${m.nproc} cores, ${m.memTotalGiB.toFixed(1)} GiB RAM, kernel ${m.kernel}, node ${m.node}, ${m.bwrap}`,
    `seed ${report.seed}; every ratio is ours ÷ baseline measured in this same run`,
    `load average at start ${m.loadAverageAtStart.toFixed(2)}` +
      (report.loadAverageAtEnd !== undefined ? `, at end ${report.loadAverageAtEnd.toFixed(2)}` : '') +
      (m.loadAverageAtStart > m.nproc / 2
        ? ' — WARNING: the machine was busy; absolute figures are inflated (ratios less so)'
        : ''),
  ].join('\n');
}

export function summaryCounts(report: RunReport): { met: number; missed: number; errors: number } {
  const rows = report.scenarios.flatMap((s) => s.rows);
  return {
    met: rows.filter((r) => r.goal?.met === true).length,
    missed: rows.filter((r) => r.goal && !r.goal.met).length,
    errors: report.scenarios.filter((s) => s.error).length,
  };
}

export function writeJson(path: string, report: RunReport): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(report, null, 2) + '\n');
}
