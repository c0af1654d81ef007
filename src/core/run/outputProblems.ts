/**
 * Problems in a command's output: compiler errors, lint findings and failing tests of the
 * common runners (tsc, eslint, node:test in TAP or spec form, jest/vitest, pytest, go test),
 * as workspace-relative locations. Paths the sandbox prints (/workspace/…, file:///workspace/…)
 * become paths of the folder; anything outside it (node_modules, node:internal) is not a
 * location of the user's code and is skipped.
 */

export type ProblemSeverity = 'error' | 'warning';

export interface OutputProblem {
  /** Relative to the workspace root, `/`-separated. */
  path: string;
  /** 1-based. */
  line: number;
  /** 1-based; 1 when the tool gives none. */
  column: number;
  severity: ProblemSeverity;
  message: string;
  /** Which tool said it: `tsc`, `eslint`, `test`, `pytest`, `go`. */
  source: string;
}

const SANDBOX_ROOT = '/workspace';
// The escape sequences terminals colour output with.
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
const TSC = /^(?<file>[^\s(:][^(:]*?)\((?<line>\d+),(?<col>\d+)\): (?<sev>error|warning) (?<code>TS\d+): (?<msg>.+)$/;
const ESLINT_FILE = /^(?<file>\/\S+|[\w.][\w./-]*\.(?:[cm]?[jt]sx?|vue|svelte))$/;
const ESLINT_ITEM = /^\s+(?<line>\d+):(?<col>\d+)\s+(?<sev>error|warning)\s+(?<msg>.+?)(?:\s{2,}(?<rule>[\w@/-]+))?$/;
const PYTEST = /^(?<file>[\w./-]+\.py):(?<line>\d+): (?<msg>.+)$/;
const GO = /^\s+(?<file>[\w./-]+_test\.go):(?<line>\d+): (?<msg>.+)$/;
/** The start of a failing test in the runners' reports. */
const FAILED_TEST =
  /^\s*(?:not ok \d+ - (?<tap>.+)|✖ (?<spec>.+?)(?: \([\d.]+m?s\))?|● (?<jest>.+)|FAIL\s+\S+ > (?<vitest>.+)|×\s+(?<vitestx>.+))$/;
/** A source location in a stack frame or a `location:` line. */
const LOCATION = /(?:file:\/\/)?(?<file>(?:\/|\.{0,2}\/?)[\w.@/-]*\.[\w]+):(?<line>\d+)(?::(?<col>\d+))?/;
const ERROR_LINE = /(?:Error|error:|Expected|expected|assert)/;

/** The workspace-relative path of what the output names, or undefined when it is not the user's code. */
function workspacePath(file: string): string | undefined {
  let p = file.replace(/^file:\/\//, '');
  if (p.startsWith(SANDBOX_ROOT + '/')) p = p.slice(SANDBOX_ROOT.length + 1);
  else if (p.startsWith('/')) return undefined; // another absolute path: not in the workspace
  p = p.replace(/^\.\//, '');
  if (p === '' || p.startsWith('../') || p.includes('node_modules/') || p.startsWith('node:')) return undefined;
  return p;
}

/** Records a problem at a place the output names (line and column as printed). */
type AddProblem = (
  file: string,
  line: string,
  col: string | undefined,
  severity: ProblemSeverity,
  message: string,
  source: string,
) => void;

export function parseOutputProblems(output: string): OutputProblem[] {
  const lines = output.replace(ANSI, '').split(/\r?\n/);
  const problems: OutputProblem[] = [];
  const add: AddProblem = (file, line, col, severity, message, source) => {
    const path = workspacePath(file);
    if (path)
      problems.push({
        path,
        line: Number(line),
        column: col ? Number(col) : 1,
        severity,
        message: message.trim(),
        source,
      });
  };
  let eslintFile: string | undefined;
  let failing: { name: string; lines: string[] } | undefined;
  const endFailing = () => {
    if (failing) addFailure(failing.name, failing.lines, add);
    failing = undefined;
  };
  let pytestMessage: string | undefined;
  for (const line of lines) {
    const tsc = TSC.exec(line)?.groups;
    if (tsc) {
      add(tsc.file!, tsc.line!, tsc.col, tsc.sev as ProblemSeverity, `${tsc.msg} (${tsc.code})`, 'tsc');
      continue;
    }
    const file = ESLINT_FILE.exec(line)?.groups;
    if (file) {
      eslintFile = file.file;
      continue;
    }
    const item = eslintFile ? ESLINT_ITEM.exec(line)?.groups : undefined;
    if (item && eslintFile) {
      add(
        eslintFile,
        item.line!,
        item.col,
        item.sev as ProblemSeverity,
        item.rule ? `${item.msg} (${item.rule})` : item.msg!,
        'eslint',
      );
      continue;
    }
    if (line.trim() === '') eslintFile = undefined;
    if (/^E\s{2,}/.test(line)) pytestMessage = line.replace(/^E\s+/, '');
    const py = PYTEST.exec(line)?.groups;
    if (py) {
      add(py.file!, py.line!, undefined, 'error', pytestMessage ? `${pytestMessage} (${py.msg})` : py.msg!, 'pytest');
      pytestMessage = undefined;
      continue;
    }
    const go = GO.exec(line)?.groups;
    if (go) {
      add(go.file!, go.line!, undefined, 'error', go.msg!, 'go');
      continue;
    }
    const test = FAILED_TEST.exec(line)?.groups;
    if (test) {
      endFailing();
      // node:test's spec reporter repeats the failures under this heading: counted once already.
      if (test.spec === 'failing tests:') continue;
      failing = { name: (test.tap ?? test.spec ?? test.jest ?? test.vitest ?? test.vitestx)!.trim(), lines: [] };
      continue;
    }
    if (failing && (BLOCK_END.test(line) || failing.lines.length > MAX_BLOCK_LINES)) endFailing();
    else failing?.lines.push(line);
  }
  endFailing();
  return dedupe(problems);
}

/** What ends a failing test's block: the next test, a summary line. */
const BLOCK_END = /^(?:ok \d+|# |ℹ |1\.\.\d|Tests:|Test Suites:|=+ .* =+$)/;
const MAX_BLOCK_LINES = 200;

/**
 * One failing test: its message (TAP's `error:`, else the first line that reads like an error)
 * at the first stack frame in the user's code (the failing assertion), else the test's location.
 */
function addFailure(name: string, block: readonly string[], add: AddProblem): void {
  const tapError = block.map((l) => /^\s*error: (.*)$/.exec(l)?.[1]).find((m) => m !== undefined);
  const firstText = block.map((l) => l.trim()).find((l) => l !== '' && l !== '---' && !LOCATION.test(l));
  const message =
    tapError?.replace(/^'(.*)'$/, '$1') ??
    block.find((l) => ERROR_LINE.test(l) && !LOCATION.test(l))?.trim() ??
    firstText;
  const places = block
    .map((l) => ({ l, at: LOCATION.exec(l)?.groups }))
    .filter((x) => x.at && workspacePath(x.at.file!) !== undefined);
  const frame = places.find((x) => !/^\s*location:/.test(x.l)) ?? places[0];
  if (frame?.at)
    add(frame.at.file!, frame.at.line!, frame.at.col, 'error', message ? `${name}: ${message}` : name, 'test');
}

/** Runners repeat a failure (the spec reporter's summary): one problem per place and message. */
function dedupe(problems: OutputProblem[]): OutputProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}:${p.line}:${p.column}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
