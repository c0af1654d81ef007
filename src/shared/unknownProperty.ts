/**
 * The message for a key a JSON object should not have: `unknown property "permision" — did you
 * mean "permission"?`. A misspelled key otherwise surfaces as a missing one ("unknown
 * permission undefined"), which sends the user looking in the wrong place.
 */

/** Edits (insert, delete, substitute, swap two neighbours) between `a` and `b`. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known name `word` is most likely a typo of, if any: case is ignored, and a name allows one
 * edit per four letters (at least one), so `prio` is not taken for `priority` but `permision` is
 * for `permission`.
 */
export function closestName(word: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(word.toLowerCase(), name.toLowerCase());
    if (distance > Math.max(1, Math.floor(name.length / 4))) continue;
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best?.name;
}

export function unknownPropertyMessage(key: string, known: readonly string[]): string {
  const guess = closestName(key, known);
  return guess
    ? `unknown property ${JSON.stringify(key)} — did you mean ${JSON.stringify(guess)}?`
    : `unknown property ${JSON.stringify(key)} (expected ${known.map((k) => JSON.stringify(k)).join(', ')})`;
}

/** The first key of `object` that is not in `known`, with its message; undefined when all are known. */
export function unknownProperty(object: object, known: readonly string[]): string | undefined {
  const key = Object.keys(object).find((k) => !known.includes(k));
  return key === undefined ? undefined : unknownPropertyMessage(key, known);
}
