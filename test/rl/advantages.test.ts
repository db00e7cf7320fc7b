// Group-relative advantages against hand-computed values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combinedAdvantages, groupAdvantages } from '../../src/rl/advantages.ts';

const close = (a: readonly number[], b: readonly number[]) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-9, `[${i}] ${v} vs ${b[i]}`));

test('each group is centred and scaled by its own std (Bessel-corrected)', () => {
  // group 1: [1, 2, 3] mean 2 std 1; group 2: [0, 0, 6] mean 2 std sqrt(12)
  const adv = groupAdvantages([1, 2, 3, 0, 0, 6], 3);
  const s = Math.sqrt(12) + 1e-4;
  close(adv, [-1 / 1.0001, 0, 1 / 1.0001, -2 / s, -2 / s, 4 / s]);
  close(groupAdvantages([1, 2, 3], 3, { scale: false }), [-1, 0, 1]);
});

test('a group with equal rewards has zero advantages', () => {
  assert.deepEqual(groupAdvantages([0.5, 0.5, 0.5, 1, 0, 1], 3).slice(0, 3), [0, 0, 0]);
  assert.deepEqual(groupAdvantages([7], 1), [0]);
});

test('several rewards: normalised separately, then weighted and summed', () => {
  // correctness [0, 1] -> [-0.7071, 0.7071]/(std .7071+1e-4); a tiny-scale reward [0.001, 0.002] counts as much
  const a = groupAdvantages([0, 1], 2);
  const b = groupAdvantages([0.001, 0.002], 2);
  close(combinedAdvantages([[0, 1], [0.001, 0.002]], [1, 0.5], 2), [a[0]! + 0.5 * b[0]!, a[1]! + 0.5 * b[1]!]);
  assert.ok(Math.abs(b[1]! - a[1]!) < 0.2, 'scale-free: both rewards give advantages of similar size');
});

test('bad input is named', () => {
  assert.throws(() => groupAdvantages([1, 2, 3], 2), /3 rewards do not split into groups of 2/);
  assert.throws(() => groupAdvantages([1, NaN], 2), /reward 1 is NaN: rewards must be finite numbers/);
  assert.throws(() => combinedAdvantages([[1, 2]], [1, 2], 2), /1 reward functions but 2 weights/);
});
