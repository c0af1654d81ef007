/**
 * One line of `strace -f -Z -y -ttt -s 4096 -o …` (failed calls only, descriptors decoded to
 * their paths, epoch times): the syscall, the paths it named, resolved against the directory
 * descriptor strace decoded (`AT_FDCWD</workspace/src>`), and the error. Lines it cannot read
 * are skipped, never guessed at: names come from the sandbox and may hold anything.
 */

export interface FailedCall {
  pid: number;
  /** The process's name (its comm, at most 15 bytes, set by the process itself: untrusted). */
  process?: string;
  /** Seconds since the epoch, as strace stamped it. */
  time: number;
  syscall: string;
  /** Each path argument as the sandbox named it, with the directory it is relative to (if decoded). */
  paths: { named: string; dir?: string }[];
  /** The flags argument of an open (`O_WRONLY|O_CREAT|O_TRUNC`), when there is one. */
  flags?: string;
  errno: string;
}

/**
 * `[pid 12<cat>] 1796198774.1 openat(…) = -1 ENOENT (…)`: strace writing to its stderr prefixes
 * the pid once it follows more than one process (`12 …` when writing to a file; nothing
 * before), with `-Y` the process's name after it. A name is at most 15 bytes, which strace may
 * print escaped (four characters a byte).
 */
const HEAD =
  /^(?:\[pid\s+(\d+)(?:<(.{0,60}?)>)?\]\s+|(\d+)(?:<(.{0,60}?)>)?\s+)?(\d+\.\d+)\s+([a-z_0-9]+)\((.*)\)\s+=\s+-1\s+([A-Z][A-Z0-9]*)\b/;

/** The line's failed call, or undefined for anything else (a signal, an unfinished pair, noise). */
export function parseStraceLine(line: string): FailedCall | undefined {
  const m = HEAD.exec(line);
  if (!m) return undefined;
  const args = splitArgs(m[7]!);
  if (!args) return undefined;
  const paths: FailedCall['paths'] = [];
  let flags: string | undefined;
  let dir: string | undefined;
  for (const arg of args) {
    const fd = /^(?:AT_FDCWD|\d+)<(.*)>$/s.exec(arg);
    if (fd) {
      dir = unescape(fd[1]!);
      continue;
    }
    if (arg.startsWith('"')) {
      const named = unquote(arg);
      if (named === undefined) return undefined;
      paths.push(dir === undefined ? { named } : { named, dir });
      dir = undefined;
      continue;
    }
    if (/^O_[A-Z_|]+/.test(arg)) flags = arg;
  }
  if (paths.length === 0) return undefined;
  const name = m[2] ?? m[4];
  return {
    pid: Number(m[1] ?? m[3] ?? 0),
    ...(name === undefined ? {} : { process: unescape(name) }),
    time: Number(m[5]),
    syscall: m[6]!,
    paths,
    flags,
    errno: m[8]!,
  };
}

/**
 * Top-level arguments: commas outside strings, brackets and decoded descriptors (`<…>`, in
 * which strace escapes `>` and `"` but not `,`). A backslash escapes the next character in
 * both.
 */
function splitArgs(s: string): string[] | undefined {
  const out: string[] = [];
  let depth = 0;
  let inString = false;
  let inFdPath = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (inString || inFdPath) {
      if (c === '\\') i++;
      else if (inString && c === '"') inString = false;
      else if (inFdPath && c === '>') inFdPath = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '<') inFdPath = true;
    else if (c === '{' || c === '[' || c === '(') depth++;
    else if (c === '}' || c === ']' || c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (inString || inFdPath || depth !== 0) return undefined;
  out.push(s.slice(start).trim());
  return out;
}

/** A C string strace printed (`"a\\nb"`); undefined when cut short (`"abc"...`). */
function unquote(arg: string): string | undefined {
  if (!arg.endsWith('"') || arg.length < 2) return undefined;
  return unescape(arg.slice(1, -1));
}

const SIMPLE: Record<string, string> = { n: '\n', t: '\t', r: '\r', v: '\v', f: '\f', '"': '"', '\\': '\\' };

/** strace's escapes: \n \t \" \\, \xHH and octal \NNN, as bytes, decoded as UTF-8. */
function unescape(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const next = s[i + 1] ?? '';
    if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      bytes.push(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (/^[0-7]{1,3}/.test(s.slice(i + 1))) {
      const oct = /^[0-7]{1,3}/.exec(s.slice(i + 1))![0];
      bytes.push(parseInt(oct, 8) & 0xff);
      i += oct.length;
    } else {
      bytes.push(...Buffer.from(SIMPLE[next] ?? next, 'utf8'));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
