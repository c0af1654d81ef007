/**
 * A session's exit codes come from the kernel, on a channel sandboxed code cannot write.
 *
 * The session's bwrap runs a supervisor: a small POSIX shell script (below) run by an
 * execute-only copy of /bin/sh. The kernel marks a process that executed a file it cannot
 * read as non-dumpable, so no sandbox process (same uid, no capabilities) may ptrace it or
 * open its /proc/<pid>/fd or mem: its stdin (the commands, with a fresh nonce each), its
 * memory (the nonce) and its status descriptor (SESSION_STATUS_FD) are out of reach.
 *
 * For each command the supervisor starts the session's shell as a child, with stdin
 * /dev/null and without the status descriptor, waits for it, and then writes an end marker
 * carrying the nonce to stdout and stderr and `<nonce> <exit status> <state>` to the status
 * descriptor. Whatever a command does to its own shell (redefine printf, close stdout, print
 * fake markers) it cannot change the status the supervisor's wait() reports for the next one.
 *
 * State between commands (the working directory and exported variables, as the protocol
 * promises) travels as data: the command's shell saves `pwd` and `env -0` to a file on exit,
 * the supervisor sends the file back, and the server writes the next command's prelude from
 * it, dropping variables that would run code at a shell's start (BASH_ENV, ENV, exported
 * functions). Functions, aliases and unexported variables do not persist.
 *
 * The script is the shell's `-c` argument, not a pipe: another sandbox process could open a
 * pipe through /proc/<pid>/fd and append `exit 0` to the next command. So a command plus its
 * prelude is bounded by MAX_ARG_BYTES, like Exec's command.
 */
import { join } from 'node:path';
import type { SandboxIdentity } from '../sandboxIdentity';
import { installExecuteOnly } from './executeOnlyCopy';
import { shellQuote } from '../../../shared/shellQuote';

/** Where the execute-only shell appears inside a session's sandbox. */
export const SUPERVISOR_IN_SANDBOX = '/run/agentfense/supervisor-sh';

/** The supervisor's status descriptor (see bwrapLauncher's list of descriptors). */
export const SESSION_STATUS_FD = 4;

/** At most this much saved state (pwd + environment) is read back after a command. */
const STATE_CAP_BYTES = 1024 * 1024;

/**
 * $1: the session's shell, $2: its state file. Its PATH is fixed (host system dirs, bound
 * read-only): a program found through a sandbox-chosen PATH would inherit the status
 * descriptor. `read` gets `<nonce> <the script, every byte as a \\ooo octal escape>`, which the
 * printf builtin decodes.
 *
 * Only builtins and the supervisor's own forks (non-dumpable like it) touch the command text,
 * the command stream (stdin) and the status descriptor. A program it runs (rm, head, base64,
 * the shell) is readable, so it is dumpable: another sandbox process may open its
 * /proc/<pid>/fd. Each gets stdin /dev/null and no status descriptor, so writing into what
 * it holds can corrupt the saved state (which sandbox processes can write anyway) but neither
 * the next command's text nor the exit status.
 */
export const SUPERVISOR_SCRIPT = `PATH=/usr/bin:/bin; export PATH
shell=$1; state=$2
while read -r nonce script; do
  rm -f "$state" </dev/null ${SESSION_STATUS_FD}>&-
  script=$(printf "$script")
  env -i "$shell" -c "$script" agentfense-session </dev/null ${SESSION_STATUS_FD}>&-
  st=$?
  printf '\\036AFEND-%s\\036' "$nonce"
  printf '\\036AFEND-%s\\036' "$nonce" >&2
  saved=$(head -c ${STATE_CAP_BYTES} "$state" 2>/dev/null </dev/null ${SESSION_STATUS_FD}>&- | base64 -w0 ${SESSION_STATUS_FD}>&-)
  printf '%s %s %s\\n' "$nonce" "$st" "$saved" >&${SESSION_STATUS_FD}
done
`;

/** The script as the supervisor reads it: every byte an octal escape, so no `%` or newline survives. */
export function encodeForSupervisor(script: Buffer): string {
  let out = '';
  for (const byte of script) out += '\\' + byte.toString(8).padStart(3, '0');
  return out;
}

/** The host path of the execute-only copy of /bin/sh under the data dir. */
export function supervisorShellPath(dataDir: string): string {
  return join(dataDir, 'supervisor-sh');
}

/** (Re)creates the execute-only shell (see executeOnlyCopy.ts). */
export function installSupervisorShell(dataDir: string, identity: SandboxIdentity): string {
  const target = supervisorShellPath(dataDir);
  installExecuteOnly('/bin/sh', target, identity);
  return target;
}

/** A session's state: where the next command starts and what it has exported. */
export interface SessionState {
  cwd: string;
  env: Record<string, string>;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Set by each shell itself, or read by a starting shell as code to run or options to set. */
const NOT_CARRIED = new Set([
  'PWD',
  'OLDPWD',
  'SHLVL',
  '_',
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'ZDOTDIR',
]);

/** The script the session's shell runs: save state on exit, restore it, then the command. */
export function commandScript(state: SessionState, stateFile: string, command: string): string {
  const save = `{ pwd; printf '\\000'; env -0; } >${shellQuote(stateFile)} 2>/dev/null`;
  const lines = [`trap ${shellQuote(save)} EXIT`];
  for (const [name, value] of Object.entries(state.env)) lines.push(`export ${name}=${shellQuote(value)}`);
  lines.push(`cd -- ${shellQuote(state.cwd)} 2>/dev/null || cd /workspace`);
  // The newline ends a trailing comment of the command's last line before anything else.
  return `${lines.join('\n')}\n${command}\n`;
}

/** The state a command's shell saved (or the previous one when it saved nothing usable). */
export function parseSavedState(saved: Buffer, previous: SessionState): SessionState {
  const nul = saved.indexOf(0);
  if (nul < 0) return previous;
  const cwd = saved.subarray(0, nul).toString('utf8').replace(/\n$/, '');
  const env: Record<string, string> = {};
  for (const entry of saved
    .subarray(nul + 1)
    .toString('utf8')
    .split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const name = entry.slice(0, eq);
    if (!ENV_NAME.test(name) || NOT_CARRIED.has(name)) continue;
    env[name] = entry.slice(eq + 1);
  }
  return { cwd: cwd.startsWith('/') ? cwd : previous.cwd, env };
}
