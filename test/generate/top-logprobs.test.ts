// topLogprobs: per generated token the k most likely tokens of the model's raw distribution, equal
// to a full forward pass's log-softmax; opt-in (absent otherwise, and nothing else changes); and
// the scoring path (scoreTokenLogprobs) gives the same numbers for the same tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/torch/index.ts';
import { loadModel } from '../../src/model/load.ts';
import { generate } from '../../src/generate/generate.ts';
import { scoreTokenLogprobs } from '../../src/certainty/token-logprobs.ts';
import { Tokenizer } from '../../src/tokenizer/index.ts';

const dir = fileURLToPath(new URL('../fixtures/llama-tiny', import.meta.url));
const model = loadModel(dir);
const tokenizer = await Tokenizer.fromDir(dir);
const prompt = tokenizer.encode('The quick brown fox');

/** log-softmax of the model's raw logits after `ids`, from a full forward pass. */
function lastLogprobs(ids: number[]): Float32Array {
  return torch.noGrad(() => torch.scope(() => model.forward(torch.tensor([ids], { dtype: 'int64' })).select(1, -1).float().logSoftmax(-1).toFloat32Array()));
}

test('topLogprobs: k alternatives per token, most likely first, equal to the full log-softmax', async () => {
  const k = 4;
  const [s] = await generate(model, [prompt], { maxNewTokens: 5, temperature: 1, seed: 9, eosTokenIds: [], topLogprobs: k });
  assert.equal(s!.topLogprobs!.length, s!.tokenIds.length);
  s!.tokenIds.forEach((token, i) => {
    const top = s!.topLogprobs![i]!;
    assert.equal(top.length, k);
    const reference = lastLogprobs([...prompt, ...s!.tokenIds.slice(0, i)]);
    const expected = [...reference.keys()].sort((a, b) => reference[b]! - reference[a]!).slice(0, k);
    assert.deepEqual(top.map((a) => a.tokenId), expected, `step ${i}: the k most likely ids`);
    top.forEach((a) => assert.ok(Math.abs(a.logprob - reference[a.tokenId]!) < 1e-4, `step ${i}: ${a.logprob} vs ${reference[a.tokenId]}`));
    for (let j = 1; j < k; j++) assert.ok(top[j - 1]!.logprob >= top[j]!.logprob, 'sorted by logprob, descending');
    assert.ok(Math.abs(s!.logprobs[i]! - reference[token]!) < 1e-4, `step ${i}: the sampled token's logprob`);
  });
});

test('greedy: the first alternative is the chosen token, with the same log-probability', async () => {
  const [s] = await generate(model, [prompt], { maxNewTokens: 4, temperature: 0, eosTokenIds: [], topLogprobs: 2 });
  s!.tokenIds.forEach((token, i) => {
    assert.equal(s!.topLogprobs![i]![0]!.tokenId, token);
    assert.ok(Math.abs(s!.topLogprobs![i]![0]!.logprob - s!.logprobs[i]!) < 1e-5);
  });
});

test('without topLogprobs there are none, and asking for them changes nothing else', async () => {
  const options = { maxNewTokens: 5, temperature: 1, n: 2, seed: 4, eosTokenIds: [] };
  const plain = await generate(model, [prompt], options);
  const withTop = await generate(model, [prompt], { ...options, topLogprobs: 3 });
  assert.ok(plain.every((s) => !('topLogprobs' in s)));
  assert.deepEqual(withTop.map(({ topLogprobs: _top, ...rest }) => rest), plain);
  // onToken carries the same numbers as the returned sequences.
  const streamed: { logprobs: number[]; top: unknown[] }[] = [{ logprobs: [], top: [] }, { logprobs: [], top: [] }];
  await generate(model, [prompt], {
    ...options,
    topLogprobs: 3,
    onToken: (e) => {
      streamed[e.sequence]!.logprobs.push(e.logprob);
      streamed[e.sequence]!.top.push(e.topLogprobs);
    },
  });
  assert.deepEqual(streamed, withTop.map((s) => ({ logprobs: s.logprobs, top: s.topLogprobs })));
  await assert.rejects(generate(model, [prompt], { ...options, topLogprobs: 1.5 }), /topLogprobs must be an integer >= 0, got 1.5/);
});

test('the scoring path gives the generated tokens the same log-probabilities and alternatives', async () => {
  const sequences = await generate(model, [prompt, tokenizer.encode('Hi')], { maxNewTokens: 6, temperature: 1, seed: 12, eosTokenIds: [], topLogprobs: 3 });
  const prompts = [prompt, tokenizer.encode('Hi')];
  const scored = scoreTokenLogprobs(model, sequences.map((s) => ({ prompt: prompts[s.prompt]!, response: s.tokenIds })), { topLogprobs: 3 });
  sequences.forEach((s, b) => {
    s.logprobs.forEach((l, i) => assert.ok(Math.abs(l - scored[b]!.logprobs[i]!) < 1e-5, `row ${b} token ${i}: ${l} vs ${scored[b]!.logprobs[i]}`));
    s.topLogprobs!.forEach((top, i) => {
      assert.deepEqual(top.map((a) => a.tokenId), scored[b]!.topLogprobs![i]!.map((a) => a.tokenId));
      top.forEach((a, j) => assert.ok(Math.abs(a.logprob - scored[b]!.topLogprobs![i]![j]!.logprob) < 1e-5));
    });
  });
  assert.equal(scoreTokenLogprobs(model, [{ prompt, response: [5, 6] }])[0]!.topLogprobs, undefined);
});
