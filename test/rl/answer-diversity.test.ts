// Per-step diversity of answers and completions on hand-made groups, worked out below; the collapse
// to round numbers shows in every answer number; answers gathered from several processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerDiversity, gatherAnswers, repeatedNgramShare } from '../../src/rl/answer-diversity.ts';

test('a varied step: distinct answers per group, the most common answers, final digits', () => {
  // Two groups of 4. Group 1: '12', '12', '0.5', none -> 2 distinct of 4.
  // Group 2: '7', '30', '12', '1/2' -> 4 of 4. Over the step '12' comes 3 times, one half twice.
  const answers = ['12', '12', '0.5', undefined, '7', '30', '12', '1/2'];
  const d = answerDiversity(answers, 4, [0, 0.5, NaN, 0.25, 0, 0, 0, 0]);
  assert.equal(d.distinctShare, (2 / 4 + 4 / 4) / 2);
  assert.equal(d.answeredShare, 7 / 8);
  assert.deepEqual(d.top, [{ answer: '12', count: 3 }, { answer: '0.5', count: 2 }, { answer: '7', count: 1 }, { answer: '30', count: 1 }]);
  assert.equal(d.topShare, 3 / 8);
  // Final digits of the 7 answers: 2, 2, 5, 7, 0, 2, 2 ('1/2' ends in 2): one 0 of 7.
  assert.equal(d.finalZeroShare, 1 / 7);
  const p = [4 / 7, 1 / 7, 1 / 7, 1 / 7];
  assert.ok(Math.abs(d.finalDigitEntropy - -p.reduce((h, x) => h + x * Math.log2(x), 0)) < 1e-12);
  assert.equal(d.repeatedNgramShare, 0.75 / 7, 'the mean over completions long enough to have 4-grams');
});

test('a collapsed step: every group answers the same round number', () => {
  const answers = ['10', '10', '10', '10', '10', '10', '10.0', '20'];
  const d = answerDiversity(answers, 4, [0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]);
  assert.equal(d.distinctShare, (1 / 4 + 2 / 4) / 2);
  assert.deepEqual(d.top, [{ answer: '10', count: 7 }, { answer: '20', count: 1 }], '10.0 counts as 10');
  assert.equal(d.topShare, 7 / 8);
  assert.equal(d.finalZeroShare, 1);
  assert.equal(d.finalDigitEntropy, 0);
  assert.equal(d.repeatedNgramShare, 0.6);
});

test('no answers at all; groups that do not divide the step are an error', () => {
  const d = answerDiversity([undefined, undefined], 2, [NaN, NaN]);
  assert.deepEqual([d.distinctShare, d.answeredShare, d.topShare, d.top.length], [0, 0, 0, 0]);
  assert.ok(Number.isNaN(d.finalZeroShare) && Number.isNaN(d.finalDigitEntropy) && Number.isNaN(d.repeatedNgramShare));
  assert.throws(() => answerDiversity(['1', '2', '3'], 2, []), /3 answers do not form groups of 2/);
  // Non-numeric answers: counted, with no final digit.
  assert.ok(Number.isNaN(answerDiversity(['x', 'y'], 2, []).finalZeroShare));
  assert.equal(answerDiversity(['x', 'y'], 2, []).distinctShare, 1);
});

test('repeated n-grams: the share of a completion\'s 4-grams seen earlier in it', () => {
  assert.equal(repeatedNgramShare([1, 2, 3, 4, 5, 6]), 0);
  // 1 2 3 4 1 2 3 4 1: 4-grams 1234 2341 3412 4123 1234 2341 -> 2 of 6 repeat.
  assert.equal(repeatedNgramShare([1, 2, 3, 4, 1, 2, 3, 4, 1]), 2 / 6);
  assert.equal(repeatedNgramShare([7, 7, 7, 7, 7, 7]), 2 / 3);
  assert.ok(Number.isNaN(repeatedNgramShare([1, 2, 3])));
  assert.equal(repeatedNgramShare([5, 5, 5], 2), 1 / 2);
});

test('gatherAnswers: every process\'s answers in rank order, through two numeric gathers', () => {
  // This is rank 0 of 2; rank 1 holds ['é', undefined] (2 bytes + none). The fake gather plays rank 1's part.
  const mine = ['12', undefined];
  const calls: number[][] = [];
  const parallel = {
    worldSize: 2,
    gather(values: readonly number[]): number[] {
      calls.push([...values]);
      if (calls.length === 1) return [...values, 2, -1]; // the lengths
      return [...values, 0xc3, 0xa9]; // the bytes, each process padded to 2
    },
  };
  assert.deepEqual(gatherAnswers(parallel, mine), ['12', undefined, 'é', undefined]);
  assert.deepEqual(calls, [[2, -1], [0x31, 0x32]]);
  // One process: nothing to exchange.
  assert.deepEqual(gatherAnswers({ worldSize: 1, gather: () => assert.fail('no exchange') }, mine), mine);
  // No bytes anywhere: one exchange only.
  let exchanges = 0;
  const none = { worldSize: 2, gather: (v: readonly number[]) => (exchanges++, [...v, -1]) };
  assert.deepEqual(gatherAnswers(none, [undefined]), [undefined, undefined]);
  assert.equal(exchanges, 1);
});
