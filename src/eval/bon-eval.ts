// Evaluating best-of-N results (Kang et al. 2025, section 5) so that a difference can be trusted:
//
//   - accuracy of each selection rule at N = 1, 2, 4, ..., N_max, each problem's point its
//     expected accuracy over subsets of its responses (subset-accuracy.ts: random and the oracle,
//     pass@N, exactly; majority's tie-break by its expectation), plus the oracle as the ceiling;
//   - paired differences between rules at every N (by default every rule - random and every
//     rule - majority), on the same subsets and the same resampled problems;
//   - how well self-certainty, mean log-prob and negative mean entropy separate correct from
//     incorrect responses: AUROC pooled over all responses and within a problem
//     (score-separation.ts);
//   - for every number, a 95% percentile bootstrap interval over problems (bootstrap.ts: 1000
//     resamples by default, seeded).
//
// Only labelled problems count; N_max is the fewest responses any of them has.

import { answersEquivalent, SELECTION_METHODS, type SelectionMethod } from '../select/index.ts';
import { calibration, type Calibration } from './calibration.ts';
import { bootstrapIntervals, weightedMean, type Interval, type ResampleStatistic } from './bootstrap.ts';
import { pooledAurocStatistic, withinAurocStatistic, type ProblemScores } from './score-separation.ts';
import { problemAccuracy } from './subset-accuracy.ts';
import { SeededRandom } from '../data/seeded-random.ts';
import type { BonRecord, BonResponse } from './bon-run.ts';

export interface CurvePoint {
  n: number;
  accuracy: number;
  /** the bootstrap interval of the accuracy */
  low: number;
  high: number;
}

export interface DifferencePoint {
  n: number;
  /** accuracy of the rule minus accuracy of the baseline */
  difference: number;
  low: number;
  high: number;
}

export interface RuleDifference {
  rule: string;
  baseline: string;
  points: DifferencePoint[];
}

export interface ScoreSeparation {
  pooled: { auroc: number; low: number; high: number; correct: number; incorrect: number };
  /** mean over the `problems` that have both correct and incorrect responses of their own AUROC */
  within: { auroc: number; low: number; high: number; problems: number };
}

/** The confidence scores compared, each oriented so that higher means more confident. */
export const SEPARATION_SCORES = {
  'self-certainty': (r: BonResponse) => r.selfCertainty,
  'mean-logprob': (r: BonResponse) => r.meanLogprob,
  'neg-entropy': (r: BonResponse) => -r.meanEntropy,
} as const;

export type SeparationScore = keyof typeof SEPARATION_SCORES;

export interface BonEvaluation {
  /** the model folder and dataset the results came from, when known */
  model: string | undefined;
  dataset: string | undefined;
  items: number;
  /** responses per item (the smallest over items) */
  n: number;
  subsets: number;
  seed: number;
  bootstrap: { resamples: number; level: number };
  /** accuracy vs N per rule, plus 'oracle' (pass@N) */
  curves: Record<string, CurvePoint[]>;
  differences: RuleDifference[];
  auroc: Record<SeparationScore, ScoreSeparation>;
  /** self-certainty of every response, correct vs incorrect (pooled; kept from the first format of this file) */
  calibration: Calibration;
}

export interface EvaluateOptions {
  methods?: readonly SelectionMethod[];
  /** random subsets per problem and N when there are more than this many (default 32) */
  subsets?: number;
  seed?: number;
  /** bootstrap resamples (default 1000) */
  resamples?: number;
  /** [rule, baseline] pairs (default defaultPairs(methods)) */
  pairs?: readonly (readonly [string, string])[];
  /** override what the records say */
  model?: string;
  dataset?: string;
}

/** 1, 2, 4, ... up to n, and n itself. */
export function sizesUpTo(n: number): number[] {
  const sizes: number[] = [];
  for (let k = 1; k < n; k *= 2) sizes.push(k);
  sizes.push(n);
  return sizes;
}

/** Every rule against random, and every other rule against majority (those of `methods` present). */
export function defaultPairs(methods: readonly SelectionMethod[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (const baseline of ['random', 'majority'] as const) {
    if (!methods.includes(baseline)) continue;
    for (const rule of methods) if (rule !== baseline && rule !== 'random') pairs.push([rule, baseline]);
  }
  return pairs;
}

export function evaluateBestOfN(records: readonly BonRecord[], options: EvaluateOptions = {}): BonEvaluation {
  const labelled = records.filter((r) => r.label !== undefined && r.label !== null).map(checkedRecord);
  if (labelled.length === 0) throw new Error('no results carry a label: evaluation needs a dataset with reference answers');
  const methods = options.methods ?? SELECTION_METHODS;
  const subsets = options.subsets ?? 32;
  const seed = options.seed ?? 0;
  const resamples = options.resamples ?? 1000;
  const rules = [...methods, 'oracle'];
  const pairs = options.pairs ?? defaultPairs(methods);
  for (const [a, b] of pairs) {
    for (const name of [a, b]) if (!rules.includes(name)) throw new Error(`pair ${a}:${b}: ${name} is not among the evaluated rules (${rules.join(', ')})`);
  }
  const n = Math.min(...labelled.map((r) => r.responses.length));
  if (n === 0) throw new Error(`item ${labelled.find((r) => r.responses.length === 0)!.index} has no responses`);
  const sizes = sizesUpTo(n);

  const correct = labelled.map((r) => r.responses.map((x) => x.answer !== undefined && answersEquivalent(x.answer, r.label!)));
  const random = new SeededRandom(seed);
  // accuracy[p][rule][k]: problem p's expected accuracy under `rule` at sizes[k].
  const accuracy = labelled.map((r, p) => problemAccuracy({ responses: r.responses, correct: correct[p]! }, methods, sizes, subsets, random));
  const column = (rule: string, k: number) => accuracy.map((a) => a[rule]![k]!);

  // All statistics, then one bootstrap over problems for all of them.
  const statistics: ResampleStatistic[] = [];
  const add = (statistic: ResampleStatistic) => statistics.push(statistic) - 1;
  const curveIndex = rules.map((rule) => sizes.map((_, k) => {
    const values = column(rule, k);
    return add((counts) => weightedMean(values, counts));
  }));
  const pairIndex = pairs.map(([a, b]) => sizes.map((_, k) => {
    const [x, y] = [column(a, k), column(b, k)];
    const difference = x.map((v, p) => v - y[p]!);
    return add((counts) => weightedMean(difference, counts));
  }));
  const scoreNames = Object.keys(SEPARATION_SCORES) as SeparationScore[];
  const problemScores = scoreNames.map((name) => labelled.map((r, p): ProblemScores => ({ scores: r.responses.map(SEPARATION_SCORES[name]), correct: correct[p]! })));
  const aurocIndex = problemScores.map((scores) => ({ pooled: add(pooledAurocStatistic(scores)), within: add(withinAurocStatistic(scores)) }));
  const intervals = bootstrapIntervals(labelled.length, statistics, { resamples, seed: seed + 1_000_003, level: 0.95 });

  const curves: Record<string, CurvePoint[]> = {};
  rules.forEach((rule, i) => (curves[rule] = sizes.map((size, k) => point(size, intervals[curveIndex[i]![k]!]!, 'accuracy'))));
  const differences = pairs.map(([rule, baseline], i) => ({ rule, baseline, points: sizes.map((size, k) => point(size, intervals[pairIndex[i]![k]!]!, 'difference')) }));
  const auroc = Object.fromEntries(
    scoreNames.map((name, s) => {
      const pooled = calibration(problemScores[s]!.flatMap((p) => p.scores), correct.flat());
      const within = intervals[aurocIndex[s]!.within]!;
      const pooledInterval = intervals[aurocIndex[s]!.pooled]!;
      const problems = correct.filter((flags) => flags.some(Boolean) && !flags.every(Boolean)).length;
      return [name, {
        pooled: { auroc: pooled.auroc, low: pooledInterval.low, high: pooledInterval.high, correct: pooled.correct, incorrect: pooled.incorrect },
        within: { auroc: within.value, low: within.low, high: within.high, problems },
      }];
    }),
  ) as Record<SeparationScore, ScoreSeparation>;
  return {
    model: options.model ?? labelled.find((r) => r.model !== undefined)?.model,
    dataset: options.dataset ?? labelled.find((r) => r.data !== undefined)?.data,
    items: labelled.length,
    n,
    subsets,
    seed,
    bootstrap: { resamples, level: 0.95 },
    curves,
    differences,
    auroc,
    calibration: calibration(problemScores[0]!.flatMap((p) => p.scores), correct.flat()),
  };
}

function point<K extends 'accuracy' | 'difference'>(n: number, interval: Interval, key: K): { n: number; low: number; high: number } & Record<K, number> {
  return { n, [key]: interval.value, low: interval.low, high: interval.high } as { n: number; low: number; high: number } & Record<K, number>;
}

/**
 * A record as results files hold it, checked: the scores written as null (NaN in JSON, e.g. for an
 * empty response) read back as NaN; a missing field is an error naming the item.
 */
function checkedRecord(record: BonRecord): BonRecord {
  if (!Array.isArray(record.responses)) throw new Error(`item ${record.index}: responses must be an array`);
  const responses = record.responses.map((r, k) => {
    const score = (field: 'selfCertainty' | 'meanLogprob' | 'meanEntropy'): number => {
      const value = (r as unknown as Record<string, unknown>)[field];
      if (value === null) return NaN;
      if (typeof value !== 'number') throw new Error(`item ${record.index}, response ${k}: ${field} must be a number, found ${value === undefined ? 'none' : JSON.stringify(value)}`);
      return value;
    };
    const answer = r.answer === null ? undefined : r.answer;
    if (answer !== undefined && typeof answer !== 'string') throw new Error(`item ${record.index}, response ${k}: answer must be a string or absent, found ${JSON.stringify(answer)}`);
    return { ...r, answer, selfCertainty: score('selfCertainty'), meanLogprob: score('meanLogprob'), meanEntropy: score('meanEntropy') };
  });
  return { ...record, label: String(record.label), responses };
}
