// majority's tie-break: answers tied for the most votes are drawn uniformly (seeded), so that over
// seeds each of k tied answers wins 1/k of the time; majority-sc breaks the same ties by certainty.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBestOfN, type ScoredResponse } from '../../src/select/rules.ts';

const r = (answer: string | undefined, selfCertainty: number): ScoredResponse => ({ answer, selfCertainty, meanLogprob: -1, meanEntropy: 1 });

test('majority draws uniformly among the answers tied for most votes, reproducibly for a seed', () => {
  // '1', '2' and '3' have two votes each, '4' one; '2' is the most certain group.
  const responses = [r('1', 0.1), r('2', 0.9), r('3', 0.2), r('1', 0.1), r('2', 0.8), r('3', 0.3), r('4', 5)];
  const wins = new Map<string, number>();
  for (let seed = 0; seed < 900; seed++) {
    const s = selectBestOfN(responses, { method: 'majority', seed });
    assert.deepEqual(selectBestOfN(responses, { method: 'majority', seed }), s, 'the same seed, the same choice');
    wins.set(s.answer!, (wins.get(s.answer!) ?? 0) + 1);
    // The winner's group is reported first, and the chosen member is its most certain one.
    assert.equal(s.votes[0]!.answer, s.answer);
    assert.equal(s.index, { '1': 0, '2': 1, '3': 5 }[s.answer!]);
  }
  assert.equal(wins.get('4'), undefined, 'an answer with fewer votes never wins');
  for (const answer of ['1', '2', '3']) {
    const share = wins.get(answer)! / 900;
    assert.ok(Math.abs(share - 1 / 3) < 0.06, `${answer} won ${share} of the draws, expected about 1/3`);
  }
  // majority-sc gives the same tie to the group with the most total certainty, whatever the seed.
  for (const seed of [0, 1, 2, 3]) assert.equal(selectBestOfN(responses, { method: 'majority-sc', seed }).answer, '2');
});

test('without a tie, majority and majority-sc agree and the seed does not matter', () => {
  const responses = [r('7', 0.1), r('8', 0.9), r('7', 0.2), r(undefined, 3)];
  for (const seed of [0, 1, 2, 3, 4]) {
    assert.equal(selectBestOfN(responses, { method: 'majority', seed }).answer, '7');
    assert.equal(selectBestOfN(responses, { method: 'majority', seed }).index, 2);
  }
  assert.equal(selectBestOfN(responses, { method: 'majority-sc' }).index, 2);
});
