// Best-of-N rules on hand-made scores and answers whose winners are worked out below, the paper's
// limits of Borda (p = 0 is majority, a huge p is the most self-certain answer), unanswered
// responses, tie-breaking, seeded randomness, and validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultBordaPower, selectBestOfN, SELECTION_METHODS, type ScoredResponse, type SelectionRule } from '../../src/select/rules.ts';

const r = (answer: string | undefined, selfCertainty: number, meanLogprob = -1, meanEntropy = 1): ScoredResponse => ({
  answer,
  selfCertainty,
  meanLogprob,
  meanEntropy,
});
const pick = (responses: ScoredResponse[], rule: SelectionRule) => {
  const s = selectBestOfN(responses, rule);
  return [s.index, s.answer] as const;
};

test('self-certainty picks the most certain response', () => {
  assert.deepEqual(pick([r('1', 0.5), r('2', 0.9), r('3', 0.7)], { method: 'self-certainty' }), [1, '2']);
  assert.deepEqual(pick([r(undefined, 0.5), r(undefined, 0.4)], { method: 'self-certainty' }), [0, undefined]);
});

test('majority counts answers, weighted sums self-certainty', () => {
  // '3' has three votes against two, but '4' has the larger sum of certainty (10 against 3).
  const responses = [r('3', 1), r('4', 5), r('3', 1), r('4', 5), r('3', 1)];
  assert.deepEqual(pick(responses, { method: 'majority' }), [0, '3']);
  const weighted = selectBestOfN(responses, { method: 'weighted' });
  assert.deepEqual([weighted.index, weighted.answer], [1, '4']);
  assert.deepEqual(weighted.votes, [
    { answer: '4', members: [1, 3], votes: 10 },
    { answer: '3', members: [0, 2, 4], votes: 3 },
  ]);
});

test('borda on a worked example: p decides between the certain pair and the frequent triple', () => {
  // Ranks by certainty: #0 (0.9) r1, #4 (0.7) r2, #2 (0.5) r3, #3 (0.3) r4, #1 (0.1) r5; N = 5.
  const responses = [r('7', 0.9), r('8', 0.1), r('8', 0.5), r('8', 0.3), r('7', 0.7)];
  // p = 1: '7' gets 5 + 4 = 9, '8' gets 1 + 3 + 2 = 6.
  const one = selectBestOfN(responses, { method: 'borda', p: 1 });
  assert.deepEqual([one.index, one.answer, one.p], [0, '7', 1]);
  assert.deepEqual(one.votes, [
    { answer: '7', members: [0, 4], votes: 9 },
    { answer: '8', members: [1, 2, 3], votes: 6 },
  ]);
  // p = 0.3 (the default for N = 5): '7' gets 5^0.3 + 4^0.3 = 3.136, '8' gets 1 + 3^0.3 + 2^0.3 = 3.622;
  // the most certain '8' response is #2.
  const low = selectBestOfN(responses, { method: 'borda' });
  assert.deepEqual([low.index, low.answer, low.p], [2, '8', 0.3]);
  assert.ok(Math.abs(low.votes[0]!.votes - (1 + 3 ** 0.3 + 2 ** 0.3)) < 1e-12);
  assert.ok(Math.abs(low.votes[1]!.votes - (5 ** 0.3 + 4 ** 0.3)) < 1e-12);
});

test('borda limits: p = 0 is majority voting, a huge p is the most self-certain answer', () => {
  // #5 is the most certain but has no answer; #0 is the most certain answered response.
  const responses = [r('1', 0.8), r('2', 0.5), r('2', 0.4), r('2', 0.3), r('2', 0.2), r(undefined, 0.95)];
  assert.deepEqual(pick(responses, { method: 'borda', p: 0 }), [1, '2']);
  assert.deepEqual(pick(responses, { method: 'borda', p: 1 }), [1, '2']); // '1': 5, '2': 4 + 3 + 2 + 1
  assert.deepEqual(pick(responses, { method: 'borda', p: 1000 }), [0, '1']);
  assert.deepEqual(pick(responses, { method: 'self-certainty' }), [0, '1']);

  // The same on 60 seeded random sets: N = 8 or 64, answers 0-3, some without an answer.
  let state = 12345;
  const next = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296);
  for (let trial = 0; trial < 60; trial++) {
    const n = trial % 2 === 0 ? 8 : 64;
    const set = Array.from({ length: n }, () => r(next() < 0.15 ? undefined : String(Math.floor(next() * 4)), next() * 3));
    assert.deepEqual(pick(set, { method: 'borda', p: 0 }), pick(set, { method: 'majority-sc' }), `trial ${trial}: p = 0`);
    assert.deepEqual(pick(set, { method: 'borda', p: 1e4 }), pick(set, { method: 'self-certainty' }), `trial ${trial}: p = 1e4`);
  }
});

test('the default Borda power: 0.3 up to N = 16, 1.2 from 32, linear in between', () => {
  assert.equal(defaultBordaPower(1), 0.3);
  assert.equal(defaultBordaPower(16), 0.3);
  assert.equal(defaultBordaPower(20), 0.525);
  assert.equal(defaultBordaPower(24), 0.75);
  assert.equal(defaultBordaPower(32), 1.2);
  assert.equal(defaultBordaPower(64), 1.2);
  assert.equal(selectBestOfN(Array.from({ length: 24 }, (_, i) => r('1', i)), { method: 'borda' }).p, 0.75);
  assert.throws(() => defaultBordaPower(0), /positive integer/);
  assert.throws(() => defaultBordaPower(2.5), /positive integer/);
});

test('perplexity picks the highest mean log-prob, entropy the lowest mean entropy', () => {
  const responses = [r('1', 0.9, -0.5, 0.8), r('2', 0.1, -0.2, 0.6), r('3', 0.5, -0.9, 0.3)];
  assert.deepEqual(pick(responses, { method: 'perplexity' }), [1, '2']);
  assert.deepEqual(pick(responses, { method: 'entropy' }), [2, '3']);
});

test('answers are grouped by equivalence before voting', () => {
  const responses = [r('1', 0.9), r('1/2', 0.2), r('0.5', 0.6), r('\\frac{1}{2}', 0.4), r('1.0', 0.1)];
  const s = selectBestOfN(responses, { method: 'majority' });
  assert.deepEqual([s.index, s.answer], [2, '0.5']);
  assert.deepEqual(s.votes.map((v) => [v.answer, v.members, v.votes]), [
    ['1/2', [1, 2, 3], 3],
    ['1', [0, 4], 2],
  ]);
});

test('responses without an answer never win while any answer exists, under every rule', () => {
  // The unanswered responses have the best score of every kind.
  const responses = [r(undefined, 10, -0.01, 0.01), r('5', 1, -3, 3), r(undefined, 9, -0.02, 0.02)];
  for (const method of SELECTION_METHODS) {
    for (const seed of method === 'random' ? [0, 1, 2, 3, 4, 5, 6, 7] : [0]) {
      const s = selectBestOfN(responses, { method, seed });
      assert.deepEqual([s.index, s.answer, s.unanswered], [1, '5', [0, 2]], `${method} seed ${seed}`);
    }
  }
});

test('with no answer at all, each response is its own group and voting falls back to certainty', () => {
  const responses = [r(undefined, 0.2), r(undefined, 0.9), r(undefined, 0.5)];
  for (const method of ['borda', 'weighted', 'majority', 'self-certainty'] as const) {
    const s = selectBestOfN(responses, { method });
    assert.deepEqual([s.index, s.answer, s.unanswered], [1, undefined, []], method);
    assert.equal(s.votes.length, 3, method);
  }
});

test('ties are broken deterministically: votes, then total certainty, then the lowest index', () => {
  // 2 votes each; '1' has total certainty 0.7 against 0.6; its most certain member is #3.
  assert.deepEqual(pick([r('1', 0.3), r('2', 0.5), r('2', 0.1), r('1', 0.4)], { method: 'majority-sc' }), [3, '1']);
  // Everything equal: the group that appears first, and within it the first member.
  assert.deepEqual(pick([r('1', 0.5), r('2', 0.5)], { method: 'majority-sc' }), [0, '1']);
  assert.deepEqual(pick([r('2', 0.5), r('1', 0.5)], { method: 'majority-sc' }), [0, '2']);
  assert.deepEqual(pick([r('1', 0.5), r('2', 0.5)], { method: 'weighted' }), [0, '1']);
  assert.deepEqual(pick([r('3', 0.5), r('3', 0.5), r('4', 0.2)], { method: 'majority' }), [0, '3']);
  // Equal certainty keeps index order in the Borda ranking: #0 is rank 1 (3 votes), #1 rank 2 (2).
  assert.deepEqual(pick([r('1', 0.5), r('2', 0.5), r('2', 0.1)], { method: 'borda', p: 1 }), [1, '2']); // '2': 2 + 1 = 3 = '1': 3, total certainty 0.6 > 0.5
  assert.deepEqual(pick([r('1', 0.5), r('2', 0.5), r('3', 0.1)], { method: 'borda', p: 1 }), [0, '1']);
  // Single-response rules: equal scores go to higher certainty, then the lowest index.
  assert.deepEqual(pick([r('1', 0.5), r('2', 0.9), r('3', 0.9)], { method: 'self-certainty' }), [1, '2']);
  assert.deepEqual(pick([r('1', 0.2, -1), r('2', 0.3, -1), r('3', 0.1, -2)], { method: 'perplexity' }), [1, '2']);
  assert.deepEqual(pick([r('1', 0.2, -1, 0.5), r('2', 0.2, -1, 0.5)], { method: 'entropy' }), [0, '1']);
  const responses = [r('1', 0.3), r('2', 0.5), r('2', 0.1), r('1', 0.4)];
  assert.deepEqual(selectBestOfN(responses, { method: 'borda' }), selectBestOfN(responses, { method: 'borda' }));
});

test('random is reproducible for a seed, defaults to seed 0, and covers every response', () => {
  const responses = [r('1', 0.1), r('2', 0.2), r('3', 0.3), r('4', 0.4)];
  const counts = [0, 0, 0, 0];
  for (let seed = 0; seed < 400; seed++) {
    const first = selectBestOfN(responses, { method: 'random', seed }).index;
    assert.equal(selectBestOfN(responses, { method: 'random', seed }).index, first);
    counts[first]!++;
  }
  for (const c of counts) assert.ok(c > 60 && c < 140, `counts ${counts}`);
  assert.equal(selectBestOfN(responses, { method: 'random' }).index, selectBestOfN(responses, { method: 'random', seed: 0 }).index);
});

test('NaN scores (empty responses) rank last and add nothing to weighted votes', () => {
  assert.deepEqual(pick([r('1', NaN), r('2', 0.1)], { method: 'self-certainty' }), [1, '2']);
  assert.deepEqual(pick([r('1', NaN), r('1', NaN), r('2', 0.1)], { method: 'weighted' }), [2, '2']);
  assert.deepEqual(pick([r('1', 0.1, NaN), r('2', 0.1, -5)], { method: 'perplexity' }), [1, '2']);
  assert.deepEqual(pick([r('1', 0.1, -1, NaN), r('2', 0.1, -1, 5)], { method: 'entropy' }), [1, '2']);
});

test('bad input is a clear error', () => {
  const ok = [r('1', 0.5)];
  assert.throws(() => selectBestOfN([], { method: 'borda' }), /responses is empty/);
  assert.throws(() => selectBestOfN(ok, { method: 'best' as never }), /unknown method "best"; expected one of self-certainty, borda/);
  assert.throws(() => selectBestOfN(ok, { method: 'borda', p: -0.5 }), /p must be a finite number >= 0, got -0.5/);
  assert.throws(() => selectBestOfN(ok, { method: 'borda', p: NaN }), /p must be a finite number >= 0/);
  assert.throws(() => selectBestOfN(ok, { method: 'borda', p: Infinity }), /p must be a finite number >= 0/);
  assert.throws(() => selectBestOfN(ok, { method: 'random', seed: 1.5 }), /seed must be an integer/);
  assert.throws(() => selectBestOfN(ok, undefined as never), /rule must be an object/);
  assert.throws(() => selectBestOfN([{ answer: '1', selfCertainty: '0.5' } as never], { method: 'majority' }), /responses\[0\]\.selfCertainty must be a number/);
  assert.throws(() => selectBestOfN([r('1', 0.5), { selfCertainty: 1 } as never], { method: 'perplexity' }), /responses\[1\]\.meanLogprob must be a number/);
  assert.throws(() => selectBestOfN([{ answer: 3, selfCertainty: 1 } as never], { method: 'majority' }), /responses\[0\]\.answer must be a string/);
});
