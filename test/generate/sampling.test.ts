// Logit warpers and token choice on hand-made distributions whose outcome is known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.ts';
import { checkSamplingOptions, chooseTokens, warpLogits } from '../../src/generate/sampling.ts';

const probs = (p: number[]) => torch.tensor([p.map(Math.log)]);
const kept = (t: torch.Tensor) => Array.from(t.toFloat32Array(), (v) => v !== -Infinity);

test('top-k keeps the k most likely tokens', () => {
  torch.scope(() => {
    const out = warpLogits(probs([0.1, 0.4, 0.2, 0.3]), checkSamplingOptions({ topK: 2 }));
    assert.deepEqual(kept(out), [false, true, false, true]);
  });
});

test('top-p keeps the smallest prefix reaching p, and always the most likely token', () => {
  torch.scope(() => {
    const logits = probs([0.1, 0.4, 0.2, 0.3]);
    assert.deepEqual(kept(warpLogits(logits, checkSamplingOptions({ topP: 0.7 }))), [false, true, false, true]);
    assert.deepEqual(kept(warpLogits(logits, checkSamplingOptions({ topP: 0.71 }))), [false, true, true, true]);
    assert.deepEqual(kept(warpLogits(logits, checkSamplingOptions({ topP: 0.05 }))), [false, true, false, false]);
  });
});

test('min-p drops tokens below minP x the top probability', () => {
  torch.scope(() => {
    const out = warpLogits(probs([0.05, 0.5, 0.2, 0.25]), checkSamplingOptions({ minP: 0.45 }));
    assert.deepEqual(kept(out), [false, true, false, true]);
  });
});

test('temperature scales logits before the filters', () => {
  torch.scope(() => {
    const out = warpLogits(torch.tensor([[1, 2, 4]]), checkSamplingOptions({ temperature: 2 }));
    assert.deepEqual(Array.from(out.toFloat32Array()), [0.5, 1, 2]);
  });
});

test('greedy picks the argmax; sampling is reproducible from a seed and never picks a filtered token', () => {
  torch.scope(() => {
    const logits = probs([0.1, 0.4, 0.2, 0.3]).expand(64, 4).contiguous();
    assert.deepEqual(new Set(Array.from(chooseTokens(logits, checkSamplingOptions({ temperature: 0 }), new torch.Generator(0)).toArray() as BigInt64Array)), new Set([1n]));
    const options = checkSamplingOptions({ topK: 2 });
    const a = Array.from(chooseTokens(logits, options, new torch.Generator(5)).toArray() as BigInt64Array);
    const b = Array.from(chooseTokens(logits, options, new torch.Generator(5)).toArray() as BigInt64Array);
    assert.deepEqual(a, b);
    assert.ok(a.every((t) => t === 1n || t === 3n), `only the top-2 tokens: ${a}`);
    assert.ok(a.includes(1n) && a.includes(3n), 'both kept tokens are drawn over 64 rows');
  });
});

test('bad sampling options name the option', () => {
  assert.throws(() => checkSamplingOptions({ temperature: -1 }), /temperature must be a finite number >= 0, got -1/);
  assert.throws(() => checkSamplingOptions({ topP: 0 }), /topP must be in \(0, 1\], got 0/);
  assert.throws(() => checkSamplingOptions({ topK: 1.5 }), /topK must be an integer >= 0, got 1.5/);
  assert.throws(() => checkSamplingOptions({ minP: 1 }), /minP must be in \[0, 1\), got 1/);
});
