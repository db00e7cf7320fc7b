// Generation behaviour around the edges: EOS, stop strings, streaming, seeds, n, bad input, leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/torch/index.ts';
import { loadModel } from '../../src/model/load.ts';
import { generate, streamDelta } from '../../src/generate/generate.ts';
import { Tokenizer } from '../../src/tokenizer/index.ts';

const dir = fileURLToPath(new URL('../fixtures/llama-tiny', import.meta.url));
const model = loadModel(dir);
const tokenizer = await Tokenizer.fromDir(dir);
const prompt = tokenizer.encode('The quick brown fox');

test('an EOS id ends the sequence after that token, which is kept and scored', async () => {
  const [free] = await generate(model, [prompt], { maxNewTokens: 5, temperature: 0, eosTokenIds: [] });
  const eos = free!.tokenIds[2]!;
  const [stopped] = await generate(model, [prompt], { maxNewTokens: 5, temperature: 0, eosTokenIds: [eos] });
  const firstEos = free!.tokenIds.indexOf(eos);
  assert.deepEqual(stopped!.tokenIds, free!.tokenIds.slice(0, firstEos + 1));
  assert.equal(stopped!.finishReason, 'stop');
  assert.equal(stopped!.selfCertainties.length, stopped!.tokenIds.length);
});

test('a stop string cuts the text before it; streamed deltas add up to the final text', async () => {
  const [full] = await generate(model, [prompt], { maxNewTokens: 12, temperature: 0, eosTokenIds: [], tokenizer });
  const text = full!.text!;
  assert.ok(text.length > 8, `enough text to cut: ${JSON.stringify(text)}`);
  const stop = text.slice(5, 8);
  let streamed = '';
  const [cut] = await generate(model, [prompt], {
    maxNewTokens: 12,
    temperature: 0,
    eosTokenIds: [],
    tokenizer,
    stop: [stop],
    onToken: ({ textDelta }) => (streamed += textDelta ?? ''),
  });
  assert.equal(cut!.text, text.slice(0, text.indexOf(stop)));
  assert.equal(cut!.finishReason, 'stop');
  assert.equal(streamed, cut!.text);
  assert.ok(cut!.tokenIds.length < 12);
});

test('n samples per prompt: reproducible from a seed, rows tagged with their prompt', async () => {
  const options = { maxNewTokens: 6, temperature: 1, n: 3, eosTokenIds: [], seed: 42 };
  const a = await generate(model, [prompt, tokenizer.encode('Hi')], options);
  const b = await generate(model, [prompt, tokenizer.encode('Hi')], options);
  const c = await generate(model, [prompt, tokenizer.encode('Hi')], { ...options, seed: 43 });
  assert.deepEqual(a.map((s) => s.prompt), [0, 0, 0, 1, 1, 1]);
  assert.deepEqual(a.map((s) => s.tokenIds), b.map((s) => s.tokenIds));
  assert.notDeepEqual(a.map((s) => s.tokenIds), c.map((s) => s.tokenIds));
  assert.ok(new Set(a.slice(0, 3).map((s) => s.tokenIds.join())).size > 1, 'samples of one prompt differ');
});

test("per-prompt seeds: a prompt's samples do not depend on the other prompts in the batch", async () => {
  const hi = tokenizer.encode('Hi there, how are you today?');
  const options = { maxNewTokens: 6, temperature: 1, n: 3, eosTokenIds: [] };
  const together = await generate(model, [prompt, hi], { ...options, promptSeeds: [7, 8] });
  const alone = await generate(model, [hi], { ...options, promptSeeds: [8] });
  const swapped = await generate(model, [hi, prompt], { ...options, promptSeeds: [8, 7] });
  assert.deepEqual(alone.map((s) => s.tokenIds), together.slice(3).map((s) => s.tokenIds));
  assert.deepEqual(swapped.slice(3).map((s) => s.tokenIds), together.slice(0, 3).map((s) => s.tokenIds));
  const reseeded = await generate(model, [hi], { ...options, promptSeeds: [9] });
  assert.notDeepEqual(reseeded.map((s) => s.tokenIds), alone.map((s) => s.tokenIds));
  await assert.rejects(generate(model, [hi], { ...options, promptSeeds: [1, 2] }), /promptSeeds has 2 seeds for 1 prompts/);
  await assert.rejects(generate(model, [hi], { ...options, promptSeeds: [1], seed: 3 }), /give seed or promptSeeds, not both/);
});

test('streaming holds back a character whose bytes span tokens, and never sends text twice', () => {
  // decoded texts after each token of "a😀b", the emoji's 4 bytes arriving over 2 tokens
  const texts = ['a', 'a\uFFFD', 'a😀', 'a😀b'];
  let streamed = '';
  const deltas = texts.map((text, i) => {
    const next = streamDelta(streamed, text, i === texts.length - 1);
    streamed = next.streamed;
    return next.delta;
  });
  assert.deepEqual(deltas, ['a', '', '😀', 'b']);
  // a sequence that ends mid-character streams the replacement character at the end
  assert.deepEqual(streamDelta('a', 'a\uFFFD', true), { delta: '\uFFFD', streamed: 'a\uFFFD' });
  // the start of a stop string waits: it may be cut off; if it is not, it follows
  assert.deepEqual(streamDelta('The', 'The ans', false, ['answer:']), { delta: ' ', streamed: 'The ' });
  assert.deepEqual(streamDelta('The', 'The ant', false, ['answer:']), { delta: ' ant', streamed: 'The ant' });
  assert.deepEqual(streamDelta('The', 'The ', true, ['answer:']), { delta: ' ', streamed: 'The ' });
  // decoding rewrote streamed text (space clean-up): the new text follows from the first difference
  assert.deepEqual(streamDelta('a ,', 'a, b', false), { delta: ', b', streamed: 'a, b' });
});

test('per-token statistics are consistent: logprob <= 0, 0 < entropy <= log V, certainty >= 0', async () => {
  const [s] = await generate(model, [prompt], { maxNewTokens: 8, temperature: 1, seed: 3, eosTokenIds: [] });
  const logV = Math.log(model.config.vocabSize);
  s!.logprobs.forEach((v) => assert.ok(v <= 0));
  s!.entropies.forEach((v) => assert.ok(v > 0 && v <= logV + 1e-6));
  // KL(U || p) >= 0, and log V - entropy <= ... both measure distance from uniform
  s!.selfCertainties.forEach((v) => assert.ok(v >= -1e-6));
});

test('bad requests are refused with the reason', async () => {
  await assert.rejects(generate(model, [[]], { maxNewTokens: 1 }), /every prompt needs at least one token/);
  await assert.rejects(generate(model, [[5, 128256]], { maxNewTokens: 1 }), /prompt 0 has token id 128256, outside the vocabulary \[0, 128256\)/);
  await assert.rejects(generate(model, [prompt], { maxNewTokens: 0 }), /maxNewTokens must be an integer >= 1, got 0/);
  await assert.rejects(generate(model, [prompt], { maxNewTokens: 2, stop: ['x'] }), /stop strings need a tokenizer/);
  await assert.rejects(generate(model, [prompt], { maxNewTokens: 2, topP: 2 }), /topP must be in \(0, 1\], got 2/);
});

test('generation leaves no tensors behind', async () => {
  const before = torch.memoryStats().liveTensors;
  await generate(model, [prompt, prompt.slice(0, 2)], { maxNewTokens: 7, n: 2, temperature: 0.8, topK: 20, topP: 0.9, minP: 0.05, seed: 1, tokenizer, stop: ['zzz'] });
  assert.equal(torch.memoryStats().liveTensors, before);
});

test('isCancelled stops single rows where they are; the other rows are exactly as without it', async () => {
  const prompts = [prompt, tokenizer.encode('Hi there')];
  const options = { maxNewTokens: 8, temperature: 0, n: 2, eosTokenIds: [], tokenizer };
  const reference = await generate(model, prompts, options);
  const counts = [0, 0, 0, 0];
  const before = torch.memoryStats().liveTensors;
  const cut = await generate(model, prompts, {
    ...options,
    onToken: ({ sequence }) => counts[sequence]!++,
    isCancelled: (sequence) => (sequence === 1 && counts[1]! >= 3) || sequence === 2,
  });
  assert.equal(torch.memoryStats().liveTensors, before);
  assert.deepEqual(counts, [8, 3, 0, 8], 'a cancelled row gets no more onToken calls');
  for (const b of [0, 3]) assert.deepEqual(cut[b], reference[b], `row ${b} is unchanged`);
  assert.ok(!('cancelled' in cut[0]!));
  assert.deepEqual(cut[1]!.tokenIds, reference[1]!.tokenIds.slice(0, 3));
  assert.deepEqual(cut[1]!.logprobs, reference[1]!.logprobs.slice(0, 3));
  assert.deepEqual([cut[1]!.cancelled, cut[1]!.finishReason, cut[1]!.prompt], [true, 'length', 0]);
  assert.deepEqual([cut[2]!.tokenIds, cut[2]!.text, cut[2]!.cancelled, cut[2]!.prompt], [[], '', true, 1]);
  // Every row cancelled: generation ends at once.
  let asked = 0;
  const none = await generate(model, prompts, { ...options, isCancelled: () => (asked++, true) });
  assert.equal(asked, 4);
  assert.ok(none.every((s) => s.cancelled === true && s.tokenIds.length === 0 && s.selfCertainties.length === 0));
});

test('an aborted signal stops the whole call: it rejects with the reason and frees its tensors', async () => {
  const before = torch.memoryStats().liveTensors;
  const controller = new AbortController();
  let tokens = 0;
  await assert.rejects(
    generate(model, [prompt], { maxNewTokens: 50, temperature: 0, eosTokenIds: [], signal: controller.signal, onToken: () => ++tokens === 2 && controller.abort() }),
    (error: Error) => error.name === 'AbortError',
  );
  assert.equal(tokens, 2, 'no step runs after the abort');
  assert.equal(torch.memoryStats().liveTensors, before);
  const reason = new Error('client gone');
  await assert.rejects(generate(model, [prompt], { maxNewTokens: 5, signal: AbortSignal.abort(reason) }), (error) => error === reason);
  // A signal that never fires changes nothing.
  const plain = await generate(model, [prompt], { maxNewTokens: 5, temperature: 0, eosTokenIds: [] });
  const signalled = await generate(model, [prompt], { maxNewTokens: 5, temperature: 0, eosTokenIds: [], signal: new AbortController().signal });
  assert.deepEqual(signalled, plain);
  assert.equal(torch.memoryStats().liveTensors, before);
});
