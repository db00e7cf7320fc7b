// Each reward function on hand-made completions whose rewards are known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { correctnessReward, formatReward, negEntropyReward, pluralityReward, selfCertaintyReward, type RewardInput } from '../../src/rl/rewards.ts';

function input(completions: string[], overrides: Partial<RewardInput> = {}): RewardInput {
  return {
    completions,
    completionIds: completions.map(() => [1, 2]),
    tokenSelfCertainty: completions.map(() => [0.1, 0.3]),
    tokenEntropy: completions.map(() => [1, 2]),
    labels: completions.map(() => '4'),
    groupSize: completions.length,
    ...overrides,
  };
}

test('self-certainty and negative entropy average the per-token statistics', () => {
  const i = input(['a', 'b'], { tokenSelfCertainty: [[0.1, 0.3], [0.5]], tokenEntropy: [[1, 2], [4, 6, 8]] });
  assert.deepEqual(selfCertaintyReward(i).map((v) => +v.toFixed(12)), [0.2, 0.5]);
  assert.deepEqual(negEntropyReward(i), [-1.5, -6]);
  assert.deepEqual(selfCertaintyReward(input(['x'], { tokenSelfCertainty: [[]] })), [0], 'an empty completion scores 0');
});

test('correctness compares the extracted answer with the label by mathematical equivalence', () => {
  const i = input(['so it is \\boxed{4}', 'The answer is 4.0', '\\boxed{5}', 'no idea'], { labels: ['4', '4', '4', '4'] });
  assert.deepEqual(correctnessReward(i), [1, 1, 0, 0]);
  assert.deepEqual(correctnessReward(input(['\\boxed{0.5}'], { labels: ['\\frac{1}{2}'] })), [1]);
  assert.throws(() => correctnessReward(input(['\\boxed{1}'], { labels: [undefined] })), /needs a label for every prompt; completion 0 has none/);
});

test('plurality rewards the most common answer of each group; ties reward all of them', () => {
  const group1 = ['\\boxed{2}', '\\boxed{3}', '\\boxed{2.0}', 'no idea'];
  const group2 = ['\\boxed{1}', '\\boxed{7}', 'no idea', 'not sure'];
  assert.deepEqual(pluralityReward(input([...group1, ...group2], { groupSize: 4 })), [1, 0, 1, 0, 1, 1, 0, 0]);
  assert.deepEqual(pluralityReward(input(['no idea', 'not sure'], { groupSize: 2 })), [0, 0], 'no answers, no reward');
});

test('format rewards a boxed final answer', () => {
  assert.deepEqual(formatReward(input(['\\boxed{12}', 'twelve', 'The answer is 12'])), [1, 0, 0]);
});
