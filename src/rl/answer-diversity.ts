// Collapse you can see during training: per step, how varied the policy's answers and completions
// are. Label-free rewards can be hacked by answering alike rather than right (a self-certainty
// reward, say, teaches a small arithmetic model to end every answer in its most confident digit,
// "0"); these numbers show it from the metrics alone. Monitoring only: no reward reads them.
//
//   distinctShare       mean over the step's groups (a prompt's G responses) of
//                       (distinct answers in the group) / G; answers are grouped by mathematical
//                       equivalence (select/equivalence.ts), responses without an answer add none
//   answeredShare       responses with an extractable answer / all responses
//   top, topShare       the step's most common answers with their counts (up to TOP_ANSWERS), and
//                       the share of all responses that give the most common one
//   finalZeroShare      among answers whose normalised form ends in a digit: the share ending in 0
//   finalDigitEntropy   the entropy (bits) of that final digit; log2(10) = 3.32 when uniform
//   repeatedNgramShare  mean over completions of the share of their token NGRAM-grams that repeat
//                       an earlier one of the same completion (loops, degenerate repetition);
//                       completions shorter than NGRAM tokens are left out
//
// With several processes, each holds whole groups; gatherAnswers brings every process's answers
// to every process (as UTF-8 bytes through the numeric gather), so the numbers are the step's.

import { groupAnswers, normalizeAnswer } from '../select/index.ts';
import type { DataParallel } from './data-parallel.ts';

export const TOP_ANSWERS = 5;
export const NGRAM = 4;

export interface AnswerDiversity {
  distinctShare: number;
  answeredShare: number;
  top: { answer: string; count: number }[];
  topShare: number;
  finalZeroShare: number;
  finalDigitEntropy: number;
  repeatedNgramShare: number;
}

/** The share of `ids`'s n-grams that repeat an earlier n-gram of `ids` (NaN when it has fewer than n tokens). */
export function repeatedNgramShare(ids: readonly number[], n = NGRAM): number {
  const total = ids.length - n + 1;
  if (total <= 0) return NaN;
  const seen = new Set<string>();
  let repeated = 0;
  for (let i = 0; i < total; i++) {
    const key = ids.slice(i, i + n).join(',');
    if (seen.has(key)) repeated += 1;
    else seen.add(key);
  }
  return repeated / total;
}

/**
 * The step's diversity numbers. `answers`: every response's extracted answer, groups of
 * `groupSize` consecutive; `ngramShares`: repeatedNgramShare of each response's completion.
 */
export function answerDiversity(answers: readonly (string | undefined)[], groupSize: number, ngramShares: readonly number[]): AnswerDiversity {
  if (!(Number.isInteger(groupSize) && groupSize >= 1) || answers.length % groupSize !== 0) {
    throw new RangeError(`answerDiversity: ${answers.length} answers do not form groups of ${groupSize}`);
  }
  const distinct: number[] = [];
  for (let start = 0; start < answers.length; start += groupSize) {
    const classes = groupAnswers(answers.slice(start, start + groupSize)).filter((c) => c >= 0);
    distinct.push(new Set(classes).size / groupSize);
  }
  const classes = groupAnswers(answers);
  const counts = new Map<number, { answer: string; count: number }>();
  classes.forEach((c, i) => {
    if (c < 0) return;
    const entry = counts.get(c) ?? { answer: answers[i]!.trim(), count: 0 };
    entry.count += 1;
    counts.set(c, entry);
  });
  // Most frequent first; equal counts in order of first appearance (Map order, stable sort).
  const top = [...counts.values()].sort((a, b) => b.count - a.count).slice(0, TOP_ANSWERS);
  const digits = new Array<number>(10).fill(0);
  classes.forEach((c, i) => {
    if (c < 0) return;
    const last = normalizeAnswer(answers[i]!).slice(-1);
    if (last >= '0' && last <= '9') digits[Number(last)]! += 1;
  });
  const withDigit = digits.reduce((a, b) => a + b, 0);
  const entropy = digits.reduce((h, d) => (d === 0 ? h : h - (d / withDigit) * Math.log2(d / withDigit)), 0);
  const shares = ngramShares.filter((s) => !Number.isNaN(s));
  return {
    distinctShare: mean(distinct),
    answeredShare: answers.length === 0 ? NaN : classes.filter((c) => c >= 0).length / answers.length,
    top,
    topShare: answers.length === 0 ? NaN : (top[0]?.count ?? 0) / answers.length,
    finalZeroShare: withDigit === 0 ? NaN : digits[0]! / withDigit,
    finalDigitEntropy: withDigit === 0 ? NaN : entropy,
    repeatedNgramShare: mean(shares),
  };
}

/**
 * Every process's `answers`, concatenated in rank order (each process passes the same number).
 * Two gathers: the byte length of each answer (-1 for none), then every process's bytes padded
 * to the longest process's total.
 */
export function gatherAnswers(parallel: Pick<DataParallel, 'worldSize' | 'gather'>, answers: readonly (string | undefined)[]): (string | undefined)[] {
  if (parallel.worldSize === 1) return [...answers];
  const encoded = answers.map((a) => (a === undefined ? undefined : Buffer.from(a, 'utf8')));
  const lengths = parallel.gather(encoded.map((b) => (b === undefined ? -1 : b.length)));
  const perRank = answers.length;
  if (lengths.length !== perRank * parallel.worldSize) throw new Error(`gatherAnswers: ${lengths.length} lengths from ${parallel.worldSize} processes of ${perRank} answers each`);
  const totals = Array.from({ length: parallel.worldSize }, (_, r) => lengths.slice(r * perRank, (r + 1) * perRank).reduce((sum, l) => sum + Math.max(0, l), 0));
  const width = Math.max(...totals);
  const mine = new Array<number>(width).fill(0);
  let offset = 0;
  for (const bytes of encoded) {
    if (bytes === undefined) continue;
    for (const byte of bytes) mine[offset++] = byte;
  }
  const all = width === 0 ? [] : parallel.gather(mine);
  const out: (string | undefined)[] = [];
  for (let r = 0; r < parallel.worldSize; r++) {
    let at = r * width;
    for (const length of lengths.slice(r * perRank, (r + 1) * perRank)) {
      if (length < 0) {
        out.push(undefined);
        continue;
      }
      out.push(Buffer.from(all.slice(at, at + length)).toString('utf8'));
      at += length;
    }
  }
  return out;
}

/** The numbers as TensorBoard tags `answers/...`; undefined ones (NaN) left out. */
export function answerScalars(a: AnswerDiversity): Record<string, number> {
  const tags: Record<string, number> = {
    'answers/distinct_share': a.distinctShare,
    'answers/answered_share': a.answeredShare,
    'answers/top_share': a.topShare,
    'answers/final_zero_share': a.finalZeroShare,
    'answers/final_digit_entropy': a.finalDigitEntropy,
    'answers/repeated_ngram_share': a.repeatedNgramShare,
  };
  return Object.fromEntries(Object.entries(tags).filter(([, v]) => Number.isFinite(v)));
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}
