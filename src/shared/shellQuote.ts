/**
 * POSIX shell quoting: a word the shell reads back as exactly `s`. Plain words (letters, digits,
 * `_@%+=:,./-`) stay as they are so a command reads naturally; anything else is single-quoted.
 */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A command line of words, each quoted: `shellCommand(['ls', '-la', 'my dir'])` → `ls -la 'my dir'`. */
export function shellCommand(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}
