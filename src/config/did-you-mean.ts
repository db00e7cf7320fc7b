// "Did you mean ...?" for a misspelt field or option: the known name that is the same once case,
// '-', '_' and spaces are ignored (learning_rate, learning-rate, LearningRate -> learningRate), else
// the nearest by edit distance (Levenshtein) when it is close for the name's length.

const normalise = (name: string) => name.replace(/[-_\s]/g, '').toLowerCase();

/** Levenshtein distance: insertions, deletions and substitutions of one character. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The known name `name` was probably meant to be, or undefined when none is close. */
export function closestName(name: string, known: Iterable<string>): string | undefined {
  const target = normalise(name);
  const tolerance = target.length <= 4 ? 1 : target.length <= 8 ? 2 : 3;
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(target, normalise(candidate));
    if (distance === 0) return candidate;
    if (distance <= tolerance && (best === undefined || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}
