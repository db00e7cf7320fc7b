// GrpoConfig: defaults from the paper, derived values, and fix-it errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveGrpoConfig } from '../../src/rl/config.ts';

test("defaults follow the Intuitor paper and derive the loop's values", () => {
  const c = resolveGrpoConfig({ model: 'm' });
  assert.deepEqual([c.numGenerations, c.temperature, c.learningRate, c.beta, c.epsilon, c.warmupRatio], [7, 0.9, 3e-6, 0.005, 0.2, 0.1]);
  assert.deepEqual(c.rewards, [{ name: 'self-certainty', weight: 1 }]);
  assert.equal(c.epsilonHigh, 0.2);
  assert.equal(c.sequencesPerStep, 28);
  assert.equal(c.gradientAccumulationSteps, 4);
  assert.equal(c.warmupSteps, 10);
  const weighted = resolveGrpoConfig({ model: 'm', reward: 'correctness, format', rewardWeights: '1, 0.1', epsilonHigh: 0.28 });
  assert.deepEqual(weighted.rewards, [{ name: 'correctness', weight: 1 }, { name: 'format', weight: 0.1 }]);
  assert.equal(weighted.epsilonHigh, 0.28);
});

test('invalid configurations say how to fix them', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ reward: 'accuracy' }, /--reward: unknown reward accuracy; choose from self-certainty, correctness, plurality, neg-entropy, format/],
    [{ reward: 'format,format' }, /--reward lists a reward twice/],
    [{ reward: 'correctness,format', rewardWeights: '1' }, /--reward-weights needs 2 numbers \(one per reward: correctness, format\), got "1"/],
    [{ reward: 'correctness', offlineCertainty: true }, /--offline-certainty changes the self-certainty reward: add self-certainty to --reward/],
    [{ numGenerations: 1 }, /--num-generations must be >= 2, got 1/],
    [{ lossType: 'ppo' }, /--loss-type must be one of grpo, bnpo, dr_grpo, got "ppo"/],
    [{ learningRate: 0 }, /--learning-rate must be > 0, got 0/],
    [{ minLearningRate: 1e-3 }, /--min-learning-rate \(0\.001\) must not exceed --learning-rate \(0\.000003\)|--min-learning-rate \(0\.001\) must not exceed --learning-rate \(3e-6\)/],
    [{ epochs: 3 }, /unknown option: --epochs/],
  ];
  for (const [values, message] of cases) assert.throws(() => resolveGrpoConfig({ model: 'm', ...values }), message, JSON.stringify(values));
  assert.throws(() => resolveGrpoConfig({}), /--model is required/);
});
