// The built-in synthetic task `arith`: multi-step arithmetic word problems in plain English with a
// worked solution ending in \boxed{answer}, for training and evaluating small models with Intuitor
// (GRPO rewarded by self-certainty, no labels) and for making a starting policy by supervised
// fine-tuning. Levels: 1 one addition or subtraction; 2 two of them; 3 three steps with one
// multiplication; 4 four steps where order matters (a + g * p - h * q, or parentheses).
//
// Deterministic from a seed (a small PRNG, SeededRandom; no Math.random). Train and test are disjoint by
// construction: a problem's canonical key is its computation ("(5+3)*6-4"), and the problems whose
// key hashes into one bucket of eight belong to test, the rest to train, whatever the seed or the
// wording, so even a reworded test problem never appears in train. Within one call problems are
// unique by that key unless `unique: false`; level 1, the smallest, has about 7,300 train and 1,060
// test computations, the other levels far more. Generation is sequential, so a shorter request with
// the same options is a prefix of a longer one. The stories and the vocabulary: arith-scenes.ts.

import type { QaItem } from './qa.ts';
import { buildProblem, type ArithLevel } from './arith-scenes.ts';
import { SeededRandom } from './seeded-random.ts';
import { drawStyles, solutionInStyle, type StyleMix } from './arith-solution-styles.ts';

export { ARITH_VOCABULARY, type ArithLevel } from './arith-scenes.ts';
export { ARITH_SOLUTION_STYLES, parseStyleMix, type ArithSolutionStyle, type StyleMix } from './arith-solution-styles.ts';

export const ARITH_LEVELS: readonly ArithLevel[] = [1, 2, 3, 4];
const TEST_BUCKETS = 8;
/** the share of all problems (by canonical key) reserved for the test split */
export const ARITH_TEST_FRACTION = 1 / TEST_BUCKETS;

export type ArithSplit = 'train' | 'test';

export interface ArithOptions {
  split: ArithSplit;
  /** how many problems (a positive integer) */
  count: number;
  /** one level; or `levels`, each drawn equally often (a level named twice counts twice) */
  level?: ArithLevel;
  /** default: all of 1..4 */
  levels?: readonly ArithLevel[];
  /** any safe integer; default 0 */
  seed?: number;
  /** no two problems of one call share a computation (default true) */
  unique?: boolean;
}

export interface ArithProblem {
  /** position in this call's list, from 0 */
  index: number;
  question: string;
  /** one "x op y = z" line per step, then "The answer is \boxed{z}." */
  solution: string;
  /** the answer, an integer written in digits */
  label: string;
  level: ArithLevel;
  /** the computation with the usual precedence, e.g. "20+3*4-2*5"; the canonical key of the split */
  expression: string;
}

export interface ArithSftExample {
  prompt: string;
  completion: string;
}

/** Draws in a row that give no new problem of the split before giving up (a level's keys are used up). */
const MAX_MISSES = 100_000;

/** The split a computation belongs to: a fixed hash of its canonical key, independent of any seed. */
export function arithSplitOf(expression: string): ArithSplit {
  return hashString(expression) % TEST_BUCKETS === 0 ? 'test' : 'train';
}

export function arithProblems(options: ArithOptions): ArithProblem[] {
  const { split, count, levels, seed, unique } = checkOptions(options);
  const rng = new SeededRandom(seedState(seed, split));
  const seen = new Set<string>();
  const problems: ArithProblem[] = [];
  let block: ArithLevel[] = [];
  while (problems.length < count) {
    // Levels come in shuffled blocks of `levels`: balanced, varied in order, prefix-stable.
    if (block.length === 0) block = rng.shuffle([...levels]);
    const level = block.pop()!;
    let misses = 0;
    for (;;) {
      const problem = buildProblem(level, rng);
      if (problem !== undefined && arithSplitOf(problem.expression) === split && !(unique && seen.has(problem.expression))) {
        if (unique) seen.add(problem.expression);
        problems.push({ index: problems.length, question: problem.question, solution: problem.solution, label: problem.label, level, expression: problem.expression });
        break;
      }
      if (++misses === MAX_MISSES) {
        const made = problems.filter((p) => p.level === level).length;
        throw new Error(
          `arithProblems: found only ${made} distinct level-${level} ${split} problems before running out; ask for fewer, or pass unique: false to allow repeats`,
        );
      }
    }
  }
  return problems;
}

/** The problems as question/label items for evaluation and Intuitor training. */
export function arithQaItems(options: ArithOptions): QaItem[] {
  return arithProblems(options).map(({ index, question, label }) => ({ index, question, label }));
}

/**
 * The problems as supervised fine-tuning pairs: the question, then its solution, written in the
 * generator's worked style or, with `styles`, in a style drawn per example from that mix
 * (arith-solution-styles.ts; the draw does not look at the problem).
 */
export function arithSftExamples(options: ArithOptions & { styles?: StyleMix }): ArithSftExample[] {
  const problems = arithProblems(options);
  const styles = options.styles === undefined ? undefined : drawStyles(problems.length, options.styles, options.seed ?? 0);
  return problems.map(({ question, solution }, i) => ({ prompt: question, completion: styles ? solutionInStyle(solution, styles[i]!) : solution }));
}

interface CheckedOptions {
  split: ArithSplit;
  count: number;
  levels: readonly ArithLevel[];
  seed: number;
  unique: boolean;
}

function checkOptions(options: ArithOptions): CheckedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('arithProblems: options must be an object');
  const { split, count, level, levels, seed = 0, unique = true } = options;
  if (split !== 'train' && split !== 'test') throw new Error(`arithProblems: split must be "train" or "test", got ${JSON.stringify(split)}`);
  if (!Number.isSafeInteger(count) || count <= 0) throw new Error(`arithProblems: count must be a positive integer, got ${JSON.stringify(count)}`);
  if (!Number.isSafeInteger(seed)) throw new Error(`arithProblems: seed must be a safe integer, got ${JSON.stringify(seed)}`);
  if (typeof unique !== 'boolean') throw new Error(`arithProblems: unique must be true or false, got ${JSON.stringify(unique)}`);
  if (level !== undefined && levels !== undefined) throw new Error('arithProblems: give level or levels, not both');
  const chosen = level !== undefined ? [level] : levels ?? ARITH_LEVELS;
  if (!Array.isArray(chosen) || chosen.length === 0) throw new Error(`arithProblems: levels must be a non-empty array of ${ARITH_LEVELS.join(', ')}, got ${JSON.stringify(levels)}`);
  for (const l of chosen) {
    if (!ARITH_LEVELS.includes(l)) throw new Error(`arithProblems: unknown level ${JSON.stringify(l)}; levels are ${ARITH_LEVELS.join(', ')}`);
  }
  return { split, count, levels: chosen, seed, unique };
}

/** 32-bit FNV-1a, then murmur3's finaliser so that nearby keys spread over the buckets. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix32(h);
}

function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The PRNG's starting state from all 53 bits of the seed and the split. */
function seedState(seed: number, split: ArithSplit): number {
  const wide = BigInt(seed);
  const low = Number(BigInt.asUintN(32, wide));
  const high = Number(BigInt.asUintN(32, wide >> 32n));
  return mix32(low ^ mix32(high + (split === 'test' ? 0x9e3779b9 : 0x7f4a7c15)));
}
