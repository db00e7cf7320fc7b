// How well a confidence score separates correct from incorrect responses, two ways:
//
//   pooled   one AUROC over every response of every problem (calibration.ts): does a confident
//            response tend to be right? Easy problems have both many right answers and, often,
//            confident ones, so this mixes "which problem" with "which response";
//   within   the per-problem AUROC of the problem's own responses, averaged over the problems
//            that have both a correct and an incorrect response (the others have no pair to
//            order). This is what best-of-N selection and GRPO's group normalisation see: they
//            only ever compare responses to the same question.
//
// Both come with bootstrap intervals over problems (bootstrap.ts). The pooled AUROC of a resample
// weights each response by its problem's count: sum over (correct i, incorrect j) pairs of
// w_i w_j [s_i > s_j] (ties 1/2), divided by (sum of correct weights) x (sum of incorrect weights),
// computed in one pass over the responses sorted once by score.

import { calibration } from './calibration.ts';
import { weightedMean, type ResampleStatistic } from './bootstrap.ts';

export interface ProblemScores {
  /** higher = more confident; NaN counts as the least confident */
  scores: readonly number[];
  correct: readonly boolean[];
}

/** The pooled AUROC of a resample (counts per problem) of `problems`. */
export function pooledAurocStatistic(problems: readonly ProblemScores[]): ResampleStatistic {
  const flat = problems.flatMap((p, problem) => p.scores.map((s, k) => ({ score: Number.isNaN(s) ? -Infinity : s, correct: p.correct[k]!, problem })));
  flat.sort((a, b) => (a.score < b.score ? -1 : a.score > b.score ? 1 : 0));
  // Blocks of equal scores: [start, end) into flat.
  const blocks: number[] = [0];
  for (let i = 1; i < flat.length; i++) if (flat[i]!.score !== flat[i - 1]!.score) blocks.push(i);
  blocks.push(flat.length);
  return (counts) => {
    let incorrectBelow = 0;
    let wins = 0;
    let correctWeight = 0;
    for (let b = 0; b + 1 < blocks.length; b++) {
      let blockCorrect = 0;
      let blockIncorrect = 0;
      for (let i = blocks[b]!; i < blocks[b + 1]!; i++) {
        const w = counts[flat[i]!.problem]!;
        if (flat[i]!.correct) blockCorrect += w;
        else blockIncorrect += w;
      }
      wins += blockCorrect * (incorrectBelow + blockIncorrect / 2);
      incorrectBelow += blockIncorrect;
      correctWeight += blockCorrect;
    }
    return correctWeight === 0 || incorrectBelow === 0 ? NaN : wins / (correctWeight * incorrectBelow);
  };
}

/** Each problem's own AUROC (NaN where its responses are all correct or all incorrect). */
export function perProblemAuroc(problems: readonly ProblemScores[]): number[] {
  return problems.map((p) => calibration(p.scores, p.correct).auroc);
}

/** The within-problem AUROC of a resample: the count-weighted mean of the per-problem AUROCs that exist. */
export function withinAurocStatistic(problems: readonly ProblemScores[]): ResampleStatistic {
  const values = perProblemAuroc(problems);
  return (counts) => weightedMean(values, counts);
}
