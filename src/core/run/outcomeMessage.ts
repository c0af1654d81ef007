/** How a finished run ended, in the words of a notification. */
import type { OutputProblem } from './outputProblems';

export type OutcomeKind = 'command' | 'tests' | 'task';

/** How a run ended, in a notification's words; undefined when there is nothing to say. */
export function outcomeMessage(
  kind: OutcomeKind,
  label: string,
  exitCode: number,
  problems: readonly OutputProblem[],
): string | undefined {
  if (exitCode === 130) return undefined; // the user interrupted it: they know
  const what = kind === 'tests' ? 'Tests' : kind === 'task' ? `Task "${label}"` : `"${label}"`;
  if (exitCode === 0) return kind === 'tests' ? `${what} passed.` : undefined;
  const files = [...new Set(problems.map((p) => p.path))];
  const where =
    problems.length === 0
      ? ''
      : ` · ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${files.slice(0, 2).join(', ')}${files.length > 2 ? ` and ${files.length - 2} more` : ''}`;
  return `${what} failed (exit ${exitCode})${where}.`;
}
