// Accuracy at smaller N from one set of samples: the exact expectations of random and the oracle
// against enumeration of every subset, majority's tie credit against the seeded rule's long-run
// frequency, and subset enumeration when the subsets are few.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBestOfN, type ScoredResponse } from '../../src/select/rules.ts';
import { oracleCredit, problemAccuracy, randomCredit, selectionCredit, subsetsOf } from '../../src/eval/subset-accuracy.ts';
import { SeededRandom } from '../../src/data/seeded-random.ts';

const r = (answer: string | undefined, selfCertainty: number): ScoredResponse => ({ answer, selfCertainty, meanLogprob: -selfCertainty, meanEntropy: 1 });

/** Every n-subset of 0..total-1, written independently of the module (bit masks). */
function allSubsets(total: number, n: number): number[][] {
  const out: number[][] = [];
  for (let mask = 0; mask < 1 << total; mask++) {
    const members = Array.from({ length: total }, (_, i) => i).filter((i) => mask & (1 << i));
    if (members.length === n) out.push(members);
  }
  return out;
}

// 7 responses: 2 correct ('5'), 3 wrong answers, 2 without an answer.
const responses = [r('5', 0.9), r('3', 0.5), r(undefined, 2), r('5', 0.1), r('4', 0.7), r(undefined, 1), r('3', 0.3)];
const correct = responses.map((x) => x.answer === '5');

test('random and the oracle: the closed forms equal the average over every subset', () => {
  for (let n = 1; n <= responses.length; n++) {
    const subsets = allSubsets(responses.length, n);
    // random: a uniform pick among the subset's answered responses (none answered: wrong).
    const random = subsets.reduce((sum, s) => {
      const answered = s.filter((i) => responses[i]!.answer !== undefined);
      return sum + (answered.length === 0 ? 0 : answered.filter((i) => correct[i]).length / answered.length);
    }, 0) / subsets.length;
    const oracle = subsets.filter((s) => s.some((i) => correct[i])).length / subsets.length;
    assert.ok(Math.abs(randomCredit(7, 5, 2, n) - random) < 1e-12, `random at N = ${n}: ${randomCredit(7, 5, 2, n)} vs ${random}`);
    assert.ok(Math.abs(oracleCredit(7, 2, n) - oracle) < 1e-12, `oracle at N = ${n}`);
  }
  // By hand: at N = 1 random is right 2/7 of the time; at N = 7 it always picks among the 5 answered.
  assert.ok(Math.abs(randomCredit(7, 5, 2, 1) - 2 / 7) < 1e-12);
  assert.ok(Math.abs(randomCredit(7, 5, 2, 7) - 2 / 5) < 1e-12);
  assert.equal(randomCredit(4, 0, 0, 2), 0);
  assert.equal(oracleCredit(4, 0, 4), 0);
  assert.equal(oracleCredit(4, 1, 4), 1);
});

test("majority's credit is 1/k when the right answer is among k tied, its seeded rule's long-run share", () => {
  const cases: [ScoredResponse[], string, number][] = [
    [[r('1', 0.1), r('2', 0.9)], '1', 1 / 2],
    [[r('1', 0.1), r('2', 0.9), r('2', 0.2), r('1', 0.3), r('3', 5)], '1', 1 / 2],
    [[r('1', 0.1), r('2', 0.9), r('3', 0.2)], '3', 1 / 3],
    [[r('1', 0.1), r('2', 0.9), r('3', 0.2)], '4', 0],
    [[r('1', 0.1), r('1', 0.9), r('3', 0.2)], '1', 1],
    [[r('1', 0.1), r('1', 0.9), r('3', 0.2)], '3', 0],
    [[r(undefined, 0.1), r(undefined, 0.9)], '3', 0],
  ];
  for (const [set, label, expected] of cases) {
    const flags = set.map((x) => x.answer === label);
    assert.equal(selectionCredit('majority', set, flags), expected, JSON.stringify(set.map((x) => x.answer)));
    let wins = 0;
    for (let seed = 0; seed < 600; seed++) if (flags[selectBestOfN(set, { method: 'majority', seed }).index]) wins += 1;
    assert.ok(Math.abs(wins / 600 - expected) < 0.07, `the seeded draw wins ${wins / 600}, its expectation is ${expected}`);
  }
  // Every other rule is credited for the one response it picks; majority-sc takes the certain tie.
  assert.equal(selectionCredit('majority-sc', [r('1', 0.1), r('2', 0.9)], [true, false]), 0);
  assert.equal(selectionCredit('self-certainty', [r('1', 0.1), r('2', 0.9)], [false, true]), 1);
});

test('subsets: all of them when there are at most `subsets`, otherwise that many uniform draws', () => {
  const random = new SeededRandom(1);
  assert.deepEqual(subsetsOf(4, 2, 6, random), [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]);
  assert.deepEqual(subsetsOf(5, 5, 1, random), [[0, 1, 2, 3, 4]]);
  const drawn = subsetsOf(16, 4, 50, random);
  assert.equal(drawn.length, 50);
  for (const s of drawn) {
    assert.equal(new Set(s).size, 4);
    assert.deepEqual([...s].sort((a, b) => a - b), s);
    assert.ok(s.every((i) => i >= 0 && i < 16));
  }
  // Each index is drawn about equally often (in 4/16 of the draws; C(16, 4) = 1820 > 1600 subsets).
  const counts = new Array(16).fill(0);
  for (const s of subsetsOf(16, 4, 1600, random)) for (const i of s) counts[i]++;
  for (const c of counts) assert.ok(Math.abs(c - 400) < 70, `counts ${counts}`);
  assert.equal(subsetsOf(16, 4, 1820, random).length, 1820, 'exactly as many as there are: enumerated');
});

test('problemAccuracy: per rule and N the mean over the same subsets; random and oracle exact', () => {
  const methods = ['self-certainty', 'majority', 'random'] as const;
  const result = problemAccuracy({ responses, correct }, methods, [1, 2, 7], 1000, new SeededRandom(0));
  assert.deepEqual(Object.keys(result), ['self-certainty', 'majority', 'random', 'oracle']);
  for (const [k, n] of [1, 2, 7].entries()) {
    const subsets = allSubsets(7, n);
    for (const method of ['self-certainty', 'majority'] as const) {
      const expected = subsets.reduce((sum, s) => sum + selectionCredit(method, s.map((i) => responses[i]!), s.map((i) => correct[i]!)), 0) / subsets.length;
      assert.ok(Math.abs(result[method]![k]! - expected) < 1e-12, `${method} at N = ${n}`);
    }
    assert.equal(result.random![k], randomCredit(7, 5, 2, n));
    assert.equal(result.oracle![k], oracleCredit(7, 2, n));
  }
  // At N = 7: the most certain answered response is '5' (0.9): right; majority: '3' has 2 votes, '5' 2: a tie, 1/2.
  assert.equal(result['self-certainty']![2], 1);
  assert.equal(result.majority![2], 1 / 2);
  assert.throws(() => problemAccuracy({ responses, correct }, methods, [8], 4, new SeededRandom(0)), /N = 8 but the problem has only 7 responses/);
});
