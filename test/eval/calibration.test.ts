// AUROC and Mann-Whitney U against hand-counted pairs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibration } from '../../src/eval/calibration.ts';

// The definition itself: the fraction of (correct, incorrect) pairs ordered right, ties half.
function pairCount(scores: number[], correct: boolean[]): number {
  let wins = 0;
  let pairs = 0;
  scores.forEach((a, i) =>
    scores.forEach((b, j) => {
      if (!correct[i] || correct[j]) return;
      pairs += 1;
      wins += a > b ? 1 : a === b ? 0.5 : 0;
    }),
  );
  return wins / pairs;
}

test('perfect, inverted and chance separation', () => {
  assert.equal(calibration([3, 4, 1, 2], [true, true, false, false]).auroc, 1);
  assert.equal(calibration([1, 2, 3, 4], [true, true, false, false]).auroc, 0);
  assert.equal(calibration([1, 1, 1, 1], [true, false, true, false]).auroc, 0.5);
  assert.equal(calibration([3, 4, 1, 2], [true, true, false, false]).effectSize, 1);
});

test('matches the pair-counting definition on data with ties', () => {
  const scores = [0.2, 0.5, 0.5, 0.9, 0.1, 0.5, 0.7, 0.3, 0.9, 0.4];
  const correct = [true, false, true, true, false, false, true, false, false, true];
  const result = calibration(scores, correct);
  assert.ok(Math.abs(result.auroc - pairCount(scores, correct)) < 1e-12);
  assert.equal(result.correct, 5);
  assert.equal(result.incorrect, 5);
  assert.ok(Math.abs(result.mannWhitneyU - result.auroc * 25) < 1e-12);
});

test('an empty class gives NaN; mismatched lengths are an error', () => {
  assert.ok(Number.isNaN(calibration([1, 2], [true, true]).auroc));
  assert.throws(() => calibration([1], [true, false]), /1 scores but 2 labels/);
});
