// Bootstrap intervals over problems (percentiles, coverage of a known mean, reproducibility) and
// the pooled and within-problem AUROCs that are bootstrapped with them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapIntervals, percentileInterval, weightedMean } from '../../src/eval/bootstrap.ts';
import { perProblemAuroc, pooledAurocStatistic, withinAurocStatistic } from '../../src/eval/score-separation.ts';
import { calibration } from '../../src/eval/calibration.ts';
import { SeededRandom } from '../../src/data/seeded-random.ts';

test('percentile intervals interpolate between order statistics and leave NaN out', () => {
  const values = Array.from({ length: 101 }, (_, i) => 100 - i); // 0..100, unsorted
  const [low, high] = percentileInterval(values, 0.95);
  assert.ok(Math.abs(low - 2.5) < 1e-12 && Math.abs(high - 97.5) < 1e-12, `[${low}, ${high}]`);
  assert.deepEqual(percentileInterval([3, NaN, 1, 2], 0.5), [1.5, 2.5]);
  assert.deepEqual(percentileInterval([NaN], 0.9), [NaN, NaN]);
});

test('weightedMean counts each problem as often as it was drawn, over the defined values', () => {
  assert.equal(weightedMean([1, 0, 0.5], Float64Array.from([2, 1, 0])), 2 / 3);
  assert.equal(weightedMean([1, NaN, 0], Float64Array.from([1, 5, 1])), 0.5);
  assert.ok(Number.isNaN(weightedMean([NaN, 1], Float64Array.from([1, 0]))));
});

test('the interval of a mean of 0/1 outcomes over 400 problems has the normal approximation width', () => {
  const random = new SeededRandom(7);
  const outcomes: number[] = Array.from({ length: 400 }, () => (random.next() < 0.3 ? 1 : 0));
  const mean = outcomes.reduce((a, b) => a + b, 0) / 400;
  const [interval] = bootstrapIntervals(400, [(counts) => weightedMean(outcomes, counts)], { resamples: 2000, seed: 3 });
  assert.equal(interval!.value, mean);
  assert.ok(interval!.low < mean && mean < interval!.high);
  const expected = 2 * 1.96 * Math.sqrt((mean * (1 - mean)) / 400);
  const width = interval!.high - interval!.low;
  assert.ok(Math.abs(width - expected) < 0.1 * expected, `width ${width} vs ${expected}`);
  // Reproducible for a seed, different for another.
  assert.deepEqual(bootstrapIntervals(400, [(c) => weightedMean(outcomes, c)], { resamples: 200, seed: 3 }), bootstrapIntervals(400, [(c) => weightedMean(outcomes, c)], { resamples: 200, seed: 3 }));
  assert.notDeepEqual(bootstrapIntervals(400, [(c) => weightedMean(outcomes, c)], { resamples: 200, seed: 3 }), bootstrapIntervals(400, [(c) => weightedMean(outcomes, c)], { resamples: 200, seed: 4 }));
});

test('statistics of one bootstrap see the same resamples: a paired difference is tighter than either mean', () => {
  // Rule b is rule a plus a small per-problem gain; between problems both vary a lot.
  const random = new SeededRandom(11);
  const a = Array.from({ length: 300 }, () => random.next());
  const b = a.map((x) => x + 0.02 + 0.01 * (random.next() - 0.5));
  const [ia, ib, diff] = bootstrapIntervals(300, [(c) => weightedMean(a, c), (c) => weightedMean(b, c), (c) => weightedMean(b.map((x, p) => x - a[p]!), c)], { resamples: 500 });
  assert.ok(ib!.low < ia!.high, 'the two intervals overlap');
  assert.ok(diff!.low > 0.015 && diff!.high < 0.025, `the paired difference excludes 0: [${diff!.low}, ${diff!.high}]`);
});

test('bad bootstrap settings are clear errors', () => {
  assert.throws(() => bootstrapIntervals(0, []), /at least one problem/);
  assert.throws(() => bootstrapIntervals(3, [], { resamples: 0 }), /resamples must be a positive integer/);
  assert.throws(() => bootstrapIntervals(3, [], { level: 1 }), /level must lie strictly between 0 and 1/);
});

// Three problems: one separates perfectly, one inversely, one has only correct responses.
const problems = [
  { scores: [0.9, 0.8, 0.1, 0.2], correct: [true, true, false, false] },
  { scores: [0.3, 0.7, 0.5], correct: [true, false, false] },
  { scores: [0.4, NaN], correct: [true, true] },
];

test('pooled AUROC of a resample equals the AUROC of the duplicated responses', () => {
  const pooled = pooledAurocStatistic(problems);
  const flat = (copies: number[]) => {
    const scores: number[] = [];
    const correct: boolean[] = [];
    problems.forEach((p, i) => {
      for (let c = 0; c < copies[i]!; c++) {
        scores.push(...p.scores);
        correct.push(...p.correct);
      }
    });
    return calibration(scores, correct).auroc;
  };
  for (const copies of [[1, 1, 1], [2, 0, 1], [0, 3, 1], [1, 2, 0]]) {
    assert.ok(Math.abs(pooled(Float64Array.from(copies)) - flat(copies)) < 1e-12, `copies ${copies}`);
  }
  assert.ok(Number.isNaN(pooled(Float64Array.from([0, 0, 2]))), 'no incorrect response drawn');
  // NaN is the least confident score: below every incorrect one here.
  assert.equal(calibration([NaN, 0.1], [true, false]).auroc, 0);
});

test('within-problem AUROC: the mean over problems with both classes', () => {
  assert.deepEqual(perProblemAuroc(problems).slice(0, 2), [1, 0]);
  assert.ok(Number.isNaN(perProblemAuroc(problems)[2]!));
  const within = withinAurocStatistic(problems);
  assert.equal(within(Float64Array.from([1, 1, 1])), 0.5);
  assert.equal(within(Float64Array.from([3, 1, 0])), 0.75);
});
