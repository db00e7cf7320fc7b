// Does a confidence score separate correct from incorrect responses? (Kang et al. 2025 report
// self-certainty's separation this way.) AUROC = P(score of a random correct response > score of
// a random incorrect one), ties counting half; it equals the Mann-Whitney U statistic divided by
// n_correct x n_incorrect. The rank-biserial effect size r = 2 AUROC - 1 lies in [-1, 1].
// A NaN score (an empty response has no tokens to average) counts as the least confident, as the
// selection rules rank it.

export interface Calibration {
  auroc: number;
  mannWhitneyU: number;
  /** rank-biserial correlation 2 AUROC - 1 */
  effectSize: number;
  correct: number;
  incorrect: number;
}

/** Calibration of `scores` (higher = more confident) against `correct`; NaN when a class is empty. */
export function calibration(scores: readonly number[], correct: readonly boolean[]): Calibration {
  if (scores.length !== correct.length) throw new Error(`calibration: ${scores.length} scores but ${correct.length} labels`);
  // Average ranks over the pooled scores (ties share their mean rank).
  const order = scores.map((s, i) => ({ s: Number.isNaN(s) ? -Infinity : s, i })).sort((a, b) => (a.s < b.s ? -1 : a.s > b.s ? 1 : 0));
  const ranks = new Array<number>(scores.length);
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]!.s === order[start]!.s) end += 1;
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) ranks[order[k]!.i] = rank;
    start = end + 1;
  }
  const nCorrect = correct.filter(Boolean).length;
  const nIncorrect = correct.length - nCorrect;
  const rankSum = ranks.reduce((sum, r, i) => (correct[i] ? sum + r : sum), 0);
  const u = rankSum - (nCorrect * (nCorrect + 1)) / 2;
  const auroc = nCorrect === 0 || nIncorrect === 0 ? NaN : u / (nCorrect * nIncorrect);
  return { auroc, mannWhitneyU: u, effectSize: 2 * auroc - 1, correct: nCorrect, incorrect: nIncorrect };
}
