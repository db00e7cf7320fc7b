// Per-response scores: alignment with the distribution that predicted each token (checked against
// transformers' golden per-position self-certainty), masking of padding and of tokens after EOS,
// batching, and the other scores against a float64 reference over the model's own logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/torch/index.ts';
import { loadModel } from '../../src/model/load.ts';
import { scoreResponses } from '../../src/certainty/response-scores.ts';
import { generate } from '../../src/generate/generate.ts';

const dir = fileURLToPath(new URL('../fixtures/qwen2-tiny', import.meta.url));
const golden = JSON.parse(readFileSync(`${dir}/golden.json`, 'utf8'));
const model = loadModel(dir);
const TOLERANCE = 5e-6;

test("token i is scored with the logits at position promptLength + i - 1 (transformers' per-position values)", () => {
  const seq33 = golden.cases.find((c: { name: string }) => c.name === 'seq33');
  const ids: number[] = seq33.input_ids[0];
  const perPosition: number[] = seq33.per_position.self_certainty[0];
  for (const promptLength of [1, 10, 32]) {
    const [scores] = scoreResponses(model, [{ prompt: ids.slice(0, promptLength), response: ids.slice(promptLength) }], { eosTokenIds: [] });
    assert.equal(scores!.tokens, ids.length - promptLength);
    scores!.tokenSelfCertainty.forEach((v, i) => {
      const expected = perPosition[promptLength + i - 1]!;
      assert.ok(Math.abs(v - expected) <= TOLERANCE, `prompt ${promptLength}, token ${i}: ${v} vs ${expected} (position ${promptLength + i - 1})`);
    });
    const mean = perPosition.slice(promptLength - 1, ids.length - 1).reduce((a, b) => a + b, 0) / (ids.length - promptLength);
    assert.ok(Math.abs(scores!.selfCertainty - mean) <= TOLERANCE);
  }
});

test("a generated continuation scores as generation measured it (transformers' per-step values)", () => {
  const g = golden.generation;
  const [scores] = scoreResponses(model, [{ prompt: g.prompt_ids, response: g.new_tokens }], { eosTokenIds: [] });
  scores!.tokenSelfCertainty.forEach((v, i) => assert.ok(Math.abs(v - g.per_step.self_certainty[i]) <= TOLERANCE, `step ${i}`));
});

test('tokens after the first EOS are masked; the EOS itself counts', () => {
  const prompt = [151644, 9707, 11];
  const response = [100, 200, 151645, 300, 400];
  const [withEos] = scoreResponses(model, [{ prompt, response }]);
  const [truncated] = scoreResponses(model, [{ prompt, response: response.slice(0, 3) }], { eosTokenIds: [] });
  const [full] = scoreResponses(model, [{ prompt, response }], { eosTokenIds: [] });
  assert.equal(withEos!.tokens, 3);
  assert.deepEqual(withEos, truncated);
  assert.notEqual(withEos!.selfCertainty, full!.selfCertainty);
});

test('a batch with padding scores each pair as it scores alone', () => {
  const pairs = [
    { prompt: [151644, 1, 2, 3, 4, 5], response: [6, 7] },
    { prompt: [151644], response: [9, 10, 11, 12, 13, 14] },
    { prompt: [151644, 20, 21], response: [22, 23, 24] },
  ];
  const batched = scoreResponses(model, pairs, { batchSize: 3 });
  pairs.forEach((pair, i) => {
    const [alone] = scoreResponses(model, [pair]);
    for (const key of ['selfCertainty', 'entropy', 'meanLogprob', 'gini'] as const) {
      // float32 rounding differs with the batch's shape: 1e-6 relative (entropy is about 12 here)
      assert.ok(Math.abs(batched[i]![key] - alone![key]) <= 1e-6 * Math.max(1, Math.abs(alone![key])), `pair ${i} ${key}: ${batched[i]![key]} vs ${alone![key]}`);
    }
  });
});

test('entropy, log-probabilities, perplexities and gini match a float64 reference over the full logits', () => {
  const prompt = [151644, 500, 600];
  const response = [700, 800, 900, 1000];
  const [scores] = scoreResponses(model, [{ prompt, response }], { certaintyTemperature: 0.8 });
  const logits = torch.noGrad(() => torch.scope(() => model.forward(torch.tensor([[...prompt, ...response]], { dtype: 'int64' })).double().div(0.8).toFloat64Array()));
  const vocab = model.config.vocabSize;
  let [entropy, logprob, distPpl, gini, certainty] = [0, 0, 0, 0, 0];
  response.forEach((token, i) => {
    const row = logits.subarray((prompt.length + i - 1) * vocab, (prompt.length + i) * vocab);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let sumExp = 0;
    let sum = 0;
    for (const v of row) {
      sumExp += Math.exp(v - max);
      sum += v;
    }
    const lse = max + Math.log(sumExp);
    let h = 0;
    let g = 0;
    for (const v of row) {
      const p = Math.exp(v - lse);
      h -= p * (v - lse);
      g += p * p;
    }
    entropy += h / response.length;
    distPpl += Math.exp(h) / response.length;
    gini += g / response.length;
    logprob += (row[token]! - lse) / response.length;
    certainty += (lse - sum / vocab - Math.log(vocab)) / response.length;
  });
  const expected = { entropy, meanLogprob: logprob, distributionalPerplexity: distPpl, gini, selfCertainty: certainty, perplexity: Math.exp(-logprob) };
  for (const [key, value] of Object.entries(expected)) {
    const got = scores![key as keyof typeof expected];
    assert.ok(Math.abs(got - value) <= 1e-5 * Math.max(1, Math.abs(value)), `${key}: ${got} vs ${value}`);
  }
});

test("generation's per-token statistics agree with scoring the same tokens afterwards", async () => {
  const prompt = [151644, 42, 43];
  const [sample] = await generate(model, [prompt], { maxNewTokens: 6, temperature: 1, seed: 9, eosTokenIds: [] });
  const [scores] = scoreResponses(model, [{ prompt, response: sample!.tokenIds }], { eosTokenIds: [] });
  sample!.selfCertainties.forEach((v, i) => assert.ok(Math.abs(v - scores!.tokenSelfCertainty[i]!) <= 1e-5, `token ${i}`));
  const meanLogprob = sample!.logprobs.reduce((a, b) => a + b, 0) / sample!.logprobs.length;
  assert.ok(Math.abs(meanLogprob - scores!.meanLogprob) <= 1e-5);
});

test('bad input', () => {
  assert.throws(() => scoreResponses(model, [{ prompt: [], response: [1] }]), /pair 0 has an empty prompt/);
  assert.throws(() => scoreResponses(model, [{ prompt: [1], response: [1] }], { batchSize: 0 }), /batchSize must be a positive integer, got 0/);
});
