// Frequency and presence penalties: the hand-computed arithmetic, generation that follows the
// penalised argmax step by step, statistics that stay the model's own, and no change at all when
// both penalties are 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/torch/index.ts';
import { loadModel } from '../../src/model/load.ts';
import { generate } from '../../src/generate/generate.ts';
import { checkPenalties, penalizeLogits } from '../../src/generate/sampling.ts';
import { Tokenizer } from '../../src/tokenizer/index.ts';

const dir = fileURLToPath(new URL('../fixtures/llama-tiny', import.meta.url));
const model = loadModel(dir);
const tokenizer = await Tokenizer.fromDir(dir);
const prompt = tokenizer.encode('The quick brown fox');

/** The model's raw next-token logits after `ids` (a full forward pass, no cache). */
function lastLogits(ids: number[]): Float32Array {
  return torch.noGrad(() => torch.scope(() => model.forward(torch.tensor([ids], { dtype: 'int64' })).select(1, -1).float().toFloat32Array()));
}

function logSoftmax(z: Float32Array, i: number): number {
  const max = z.reduce((a, b) => Math.max(a, b), -Infinity);
  const lse = max + Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0));
  return z[i]! - lse;
}

test('penalizeLogits subtracts count x frequency + (count > 0) x presence, per row', () => {
  torch.scope(() => {
    const logits = torch.tensor([
      [1, 2, 3, 4],
      [0, 0, 0, 0],
    ]);
    const counts = torch.tensor([
      [0, 2, 1, 0],
      [3, 0, 0, 1],
    ]);
    const out = penalizeLogits(logits, counts, { frequencyPenalty: 0.5, presencePenalty: 0.25 });
    // row 0: 2 - 2*0.5 - 0.25 = 0.75, 3 - 0.5 - 0.25 = 2.25; row 1: -3*0.5 - 0.25 = -1.75, -0.5 - 0.25 = -0.75
    assert.deepEqual(Array.from(out.toFloat32Array()), [1, 0.75, 2.25, 4, -1.75, 0, 0, -0.75]);
    const negative = penalizeLogits(logits, counts, { frequencyPenalty: -1, presencePenalty: 0 });
    assert.deepEqual(Array.from(negative.toFloat32Array()), [1, 4, 4, 4, 3, 0, 0, 1]);
  });
});

test('checkPenalties: both 0 means no penalty path; values beyond [-2, 2] are refused by name', () => {
  assert.equal(checkPenalties({}), undefined);
  assert.equal(checkPenalties({ frequencyPenalty: 0, presencePenalty: -0 }), undefined);
  assert.deepEqual(checkPenalties({ presencePenalty: 1 }), { frequencyPenalty: 0, presencePenalty: 1 });
  assert.throws(() => checkPenalties({ frequencyPenalty: 2.5 }), /frequencyPenalty must be a number in \[-2, 2\], got 2.5/);
  assert.throws(() => checkPenalties({ presencePenalty: NaN }), /presencePenalty must be/);
});

test('zero penalties leave generation bit-identical', async () => {
  const options = { maxNewTokens: 6, temperature: 1, n: 2, eosTokenIds: [], seed: 5 };
  const plain = await generate(model, [prompt], options);
  const zero = await generate(model, [prompt], { ...options, frequencyPenalty: 0, presencePenalty: 0 });
  assert.deepEqual(zero, plain);
});

test('greedy with penalties picks the penalised argmax at every step; the statistics stay the raw model\'s', async () => {
  const frequencyPenalty = -1.5; // negative: repeats are encouraged, so the penalties visibly steer
  const presencePenalty = -0.75;
  const [plain] = await generate(model, [prompt], { maxNewTokens: 6, temperature: 0, eosTokenIds: [] });
  const [steered] = await generate(model, [prompt], { maxNewTokens: 6, temperature: 0, eosTokenIds: [], frequencyPenalty, presencePenalty });
  assert.notDeepEqual(steered!.tokenIds, plain!.tokenIds, 'the penalties should change the greedy sequence');
  const counts = new Map<number, number>();
  steered!.tokenIds.forEach((token, i) => {
    const raw = lastLogits([...prompt, ...steered!.tokenIds.slice(0, i)]);
    const penalised = raw.map((z, id) => {
      const c = counts.get(id) ?? 0;
      return z - c * frequencyPenalty - (c > 0 ? presencePenalty : 0);
    });
    const argmax = penalised.reduce((best, z, id) => (z > penalised[best]! ? id : best), 0);
    assert.equal(token, argmax, `step ${i}`);
    // The reported log-probability is the raw distribution's, not the penalised one's.
    assert.ok(Math.abs(steered!.logprobs[i]! - logSoftmax(raw, token)) < 1e-4, `step ${i}: ${steered!.logprobs[i]} vs ${logSoftmax(raw, token)}`);
    counts.set(token, (counts.get(token) ?? 0) + 1);
  });
});

test('penalised generation leaves no tensors behind', async () => {
  const before = torch.memoryStats().liveTensors;
  await generate(model, [prompt, prompt.slice(0, 2)], { maxNewTokens: 5, n: 2, temperature: 0.8, seed: 2, frequencyPenalty: 0.5, presencePenalty: 0.5, topLogprobs: 3 });
  assert.equal(torch.memoryStats().liveTensors, before);
});
