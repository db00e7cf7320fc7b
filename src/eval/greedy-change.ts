// What training did to a model's greedy answers on the same held-out problems: accuracy with its
// 95% bootstrap interval, the paired change from the starting model (both on the same resampled
// problems), which solution style the answers use (arith) and how accurate each style is, and the
// shape of the answers, which is where a reward hack shows (answers collapsing onto a few values, or
// onto a final 0 that the model is sure of).

import type { QaEvaluation } from './qa-accuracy.ts';
import { bootstrapIntervals, weightedMean, type Interval } from './bootstrap.ts';
import { answerDiversity } from '../rl/answer-diversity.ts';
import { columnFactErrors, solutionStyleOf } from '../data/arith-solution-styles.ts';

export interface StyleShare {
  /** share of the responses written in this style */
  share: number;
  /** accuracy of those responses (NaN when there are none) */
  accuracy: number;
}

export interface GreedySummary {
  accuracy: Interval;
  /** accuracy minus the baseline's, paired over problems (absent without a baseline) */
  change?: Interval;
  /** by solution style: 'columns', 'worked', 'answer', or 'other' */
  styles: Record<string, StyleShare>;
  /** distinct answers over the problems, as a share of the problems */
  distinctShare: number;
  /** share of the answers whose last digit is 0 */
  finalZeroShare: number;
  /** the most common answers, most frequent first */
  top: { answer: string; count: number }[];
  /** share of the scratchpads' one-digit column facts that are wrong (NaN without any) */
  wrongColumnFacts: number;
}

export function summarizeGreedy(evaluation: QaEvaluation, baseline?: QaEvaluation, options: { resamples?: number; seed?: number } = {}): GreedySummary {
  const problems = evaluation.correct.length;
  if (baseline && baseline.correct.length !== problems) throw new Error(`summarizeGreedy: ${problems} problems against a baseline of ${baseline.correct.length}`);
  const after = evaluation.correct.map(Number);
  const statistics = [(counts: Float64Array) => weightedMean(after, counts)];
  if (baseline) {
    const difference = after.map((v, p) => v - Number(baseline.correct[p]));
    statistics.push((counts) => weightedMean(difference, counts));
  }
  const [accuracy, change] = bootstrapIntervals(problems, statistics, { resamples: options.resamples ?? 1000, seed: options.seed ?? 0 });

  const styles: Record<string, StyleShare> = {};
  const byStyle = new Map<string, boolean[]>();
  evaluation.responses.forEach((r, p) => {
    const style = solutionStyleOf(r.text) ?? 'other';
    const flags = byStyle.get(style) ?? [];
    flags.push(evaluation.correct[p]!);
    byStyle.set(style, flags);
  });
  for (const [style, flags] of byStyle) styles[style] = { share: flags.length / problems, accuracy: flags.filter(Boolean).length / flags.length };
  const facts = evaluation.responses.map((r) => columnFactErrors(r.text)).reduce((a, b) => ({ facts: a.facts + b.facts, wrong: a.wrong + b.wrong }), { facts: 0, wrong: 0 });
  const diversity = answerDiversity(evaluation.responses.map((r) => r.answer), Math.max(1, problems), []);
  return {
    accuracy: accuracy!,
    ...(change ? { change } : {}),
    styles,
    distinctShare: diversity.distinctShare,
    finalZeroShare: diversity.finalZeroShare,
    top: diversity.top,
    wrongColumnFacts: facts.facts === 0 ? NaN : facts.wrong / facts.facts,
  };
}
