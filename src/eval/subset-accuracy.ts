// Best-of-N accuracy of one problem at a smaller N: the expected credit of a selection rule when N
// of the problem's T sampled responses are drawn at random (Kang et al. 2025 evaluate accuracy vs
// N this way), so that one set of T samples yields the whole curve N = 1, 2, 4, ..., T.
//
// What is exact and what is an average:
//   - oracle (pass@N, some drawn response correct): exactly 1 - C(T - c, N) / C(T, N) for c correct
//     responses (the unbiased pass@k estimator of Chen et al. 2021);
//   - random (a uniform draw among the drawn responses that have an answer): exactly
//     (c / a) x (1 - C(T - a, N) / C(T, N)) for a answered responses: given that the subset holds
//     j > 0 answered ones, they are a uniform j-subset of the a, so j c / a of them are correct in
//     expectation and a uniform pick among them is right with probability c / a;
//   - majority: within a subset, its seeded draw between tied answers is replaced by its
//     expectation: 1/k credit when the right answer is among the k answers tied for most votes;
//   - every rule, over subsets: all C(T, N) subsets when there are at most `subsets` of them (N = 1
//     and N = T are then exact), otherwise the mean over `subsets` uniform random subsets, the same
//     subsets for every rule, so differences between rules are paired.

import { groupAnswers, selectBestOfN, type ScoredResponse, type SelectionMethod } from '../select/index.ts';
import type { SeededRandom } from '../data/seeded-random.ts';

/** C(a, n) / C(total, n): the chance that n responses drawn from `total` all come from a given `a`. */
export function allFromShare(a: number, total: number, n: number): number {
  if (n > a) return 0;
  let ratio = 1;
  for (let i = 0; i < n; i++) ratio *= (a - i) / (total - i);
  return ratio;
}

/** pass@n of a problem with `correct` correct responses among `total`. */
export function oracleCredit(total: number, correct: number, n: number): number {
  return 1 - allFromShare(total - correct, total, n);
}

/** Expected accuracy of `random` at n: a uniform pick among the answered responses of a uniform n-subset. */
export function randomCredit(total: number, answered: number, correct: number, n: number): number {
  return answered === 0 ? 0 : (correct / answered) * (1 - allFromShare(total - answered, total, n));
}

/** C(total, n), or Infinity once it exceeds `limit` (only whether it is at most a limit matters). */
function binomialUpTo(total: number, n: number, limit: number): number {
  let c = 1;
  for (let i = 0; i < n; i++) {
    c = (c * (total - i)) / (i + 1);
    if (c > limit) return Infinity;
  }
  return Math.round(c);
}

/** Every n-subset of 0..total-1 in lexicographic order. */
function* combinations(total: number, n: number): Generator<number[]> {
  const chosen = Array.from({ length: n }, (_, i) => i);
  while (true) {
    yield [...chosen];
    let i = n - 1;
    while (i >= 0 && chosen[i] === total - n + i) i--;
    if (i < 0) return;
    chosen[i]! += 1;
    for (let j = i + 1; j < n; j++) chosen[j] = chosen[j - 1]! + 1;
  }
}

/** A uniform n-subset of 0..total-1, ascending (partial Fisher-Yates). */
function randomSubset(total: number, n: number, random: SeededRandom): number[] {
  const indices = Array.from({ length: total }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random.next() * (total - i));
    [indices[i], indices[j]] = [indices[j]!, indices[i]!];
  }
  return indices.slice(0, n).sort((a, b) => a - b);
}

/** The subsets a curve point of size n averages over (see the module header). */
export function subsetsOf(total: number, n: number, subsets: number, random: SeededRandom): number[][] {
  if (binomialUpTo(total, n, subsets) <= subsets) return [...combinations(total, n)];
  return Array.from({ length: subsets }, () => randomSubset(total, n, random));
}

/** The credit of `method` on one set of responses: 1 or 0, or majority's expected share of a tie. */
export function selectionCredit(method: SelectionMethod, responses: readonly ScoredResponse[], correct: readonly boolean[]): number {
  const selection = selectBestOfN(responses, { method });
  if (method === 'majority') {
    // Groups of answered responses only (without any answer, majority falls back to certainty).
    const top = selection.votes[0]!.votes;
    const tied = selection.votes.filter((group) => group.answer !== undefined && group.votes === top);
    if (tied.length > 1) return tied.filter((group) => correct[group.members[0]!]).length / tied.length;
  }
  return correct[selection.index] ? 1 : 0;
}

export interface ProblemResponses {
  responses: readonly ScoredResponse[];
  /** per response: does its answer equal the reference */
  correct: readonly boolean[];
}

/**
 * Expected accuracy of each rule (and 'oracle') on one problem at each size in `sizes`:
 * result[rule][k] is the credit at sizes[k].
 */
export function problemAccuracy(
  problem: ProblemResponses,
  methods: readonly SelectionMethod[],
  sizes: readonly number[],
  subsets: number,
  random: SeededRandom,
): Record<string, number[]> {
  const total = problem.responses.length;
  // "Answered" as the rules see it: an answer that normalises to something.
  const answered = groupAnswers(problem.responses.map((r) => r.answer)).filter((c) => c >= 0).length;
  const correct = problem.correct.filter(Boolean).length;
  const result: Record<string, number[]> = Object.fromEntries([...methods, 'oracle'].map((m) => [m, [] as number[]]));
  const drawn = methods.filter((m) => m !== 'random');
  for (const n of sizes) {
    if (n > total) throw new RangeError(`problemAccuracy: N = ${n} but the problem has only ${total} responses`);
    result.oracle!.push(oracleCredit(total, correct, n));
    if (methods.includes('random')) result.random!.push(randomCredit(total, answered, correct, n));
    if (drawn.length === 0) continue;
    const sums = drawn.map(() => 0);
    const chosen = subsetsOf(total, n, subsets, random);
    for (const subset of chosen) {
      const responses = subset.map((i) => problem.responses[i]!);
      const flags = subset.map((i) => problem.correct[i]!);
      drawn.forEach((method, m) => (sums[m]! += selectionCredit(method, responses, flags)));
    }
    drawn.forEach((method, m) => result[method]!.push(sums[m]! / chosen.length));
  }
  return result;
}
