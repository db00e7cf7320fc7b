// Log-probabilities on the fixture model through the pure handler: the numbers the server reports
// are the scoring path's (scoreTokenLogprobs, scoreResponses) for the same tokens, generated or
// echoed; penalties steer generation; the lm-evaluation-harness loglikelihood request works.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { scoreTokenLogprobs } from '../../src/certainty/token-logprobs.ts';
import { scoreResponses } from '../../src/certainty/response-scores.ts';
import { createServeContext, type ServeContext } from '../../src/serve/context.ts';
import type { ModelEngine } from '../../src/serve/engine.ts';
import { callJson, FIXTURE_ID, loadFixtureEngine, recordingEngine } from './helpers.ts';

let engine: ModelEngine;
let context: ServeContext;
const TOLERANCE = 1e-5;

before(async () => {
  engine = await loadFixtureEngine();
  context = createServeContext({ engine, limits: { maxN: 4, maxBestOf: 8, maxTokens: 32 } });
});
after(() => engine.dispose());

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < TOLERANCE, `${what}: ${a} vs ${b}`);

test('legacy logprobs with echo equal the scoring path over the prompt and the generated tokens', async () => {
  const prompt = 'The quick brown fox jumps';
  const recording = recordingEngine(engine);
  const ctx = createServeContext({ engine: recording.engine, limits: { maxTokens: 32 } });
  const res = await callJson(ctx, { path: '/v1/completions', body: { model: FIXTURE_ID, prompt, max_tokens: 5, seed: 3, echo: true, logprobs: 3 } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const promptIds = engine.tokenizer.encode(prompt);
  const generated = recording.results[0]![0]!.tokenIds;
  const all = [...promptIds, ...generated];
  const [scored] = scoreTokenLogprobs(engine.model, [{ prompt: all.slice(0, 1), response: all.slice(1) }], { topLogprobs: 3 });
  const lp = res.body.choices[0].logprobs;
  assert.equal(lp.tokens.length, all.length);
  assert.equal(lp.token_logprobs[0], null);
  assert.equal(lp.top_logprobs[0], null);
  lp.token_logprobs.slice(1).forEach((l: number, i: number) => close(l, scored!.logprobs[i]!, `token ${i + 1}`));
  lp.top_logprobs.slice(1).forEach((top: Record<string, number>, i: number) => {
    for (const alt of scored!.topLogprobs![i]!) {
      const text = engine.tokenTexts([alt.tokenId])[0]!;
      close(top[text]!, alt.logprob, `alternative ${JSON.stringify(text)} of token ${i + 1}`);
    }
  });
  assert.ok(res.body.choices[0].text.startsWith(prompt));
  assert.deepEqual(lp.tokens.slice(0, promptIds.length).join(''), prompt);
  assert.equal(lp.text_offset[promptIds.length], prompt.length, 'the first generated token starts right after the prompt');
  for (let i = 1; i < lp.text_offset.length; i++) assert.ok(lp.text_offset[i] >= lp.text_offset[i - 1], 'offsets never decrease');
});

test('chat logprobs equal the scoring path for the generated tokens; top_logprobs are sorted', async () => {
  const messages = [{ role: 'user', content: 'Name a colour.' }];
  const recording = recordingEngine(engine);
  const ctx = createServeContext({ engine: recording.engine, limits: { maxTokens: 32 } });
  const res = await callJson(ctx, { path: '/v1/chat/completions', body: { model: FIXTURE_ID, messages, max_tokens: 6, seed: 8, logprobs: true, top_logprobs: 5 } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const promptIds = engine.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
  const generated = recording.results[0]![0]!.tokenIds;
  const [scored] = scoreTokenLogprobs(engine.model, [{ prompt: promptIds, response: generated }], { topLogprobs: 5 });
  const content = res.body.choices[0].logprobs.content;
  assert.equal(content.length, generated.length);
  content.forEach((entry: any, i: number) => {
    close(entry.logprob, scored!.logprobs[i]!, `token ${i}`);
    assert.equal(entry.token, engine.tokenTexts([generated[i]!])[0]);
    assert.deepEqual(entry.bytes, [...Buffer.from(entry.token, 'utf8')]);
    assert.equal(entry.top_logprobs.length, 5);
    entry.top_logprobs.forEach((alt: any, j: number) => {
      close(alt.logprob, scored!.topLogprobs![i]![j]!.logprob, `alternative ${j} of token ${i}`);
      if (j > 0) assert.ok(entry.top_logprobs[j - 1].logprob >= alt.logprob, 'most likely first');
    });
    assert.ok(entry.top_logprobs[0].logprob >= entry.logprob - TOLERANCE, 'nothing beats the first alternative');
  });
});

test('the lm-evaluation-harness loglikelihood call: echo, max_tokens 0, the continuation scored as scoreResponses scores it', async () => {
  const context_ = 'Question: what is two plus two? Answer:';
  const continuation = ' four';
  const res = await callJson(context, { path: '/v1/completions', body: { model: FIXTURE_ID, prompt: context_ + continuation, max_tokens: 0, echo: true, logprobs: 1, temperature: 0 } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const choice = res.body.choices[0];
  assert.equal(choice.text, context_ + continuation);
  const contextIds = engine.tokenizer.encode(context_);
  const allIds = engine.tokenizer.encode(context_ + continuation);
  assert.deepEqual(allIds.slice(0, contextIds.length), contextIds, 'the continuation starts on a token boundary');
  const continuationLogprobs: number[] = choice.logprobs.token_logprobs.slice(contextIds.length);
  const [reference] = scoreResponses(engine.model, [{ prompt: contextIds, response: allIds.slice(contextIds.length) }], { eosTokenIds: [] });
  close(continuationLogprobs.reduce((a, b) => a + b, 0) / continuationLogprobs.length, reference!.meanLogprob, 'mean logprob of the continuation');
  assert.equal(res.body.usage.completion_tokens, 0);
});

test('several prompts in one request: each choice continues its own prompt, as it would alone', async () => {
  const body = { model: FIXTURE_ID, max_tokens: 4, temperature: 0, logprobs: 0 };
  const both = await callJson(context, { path: '/v1/completions', body: { ...body, prompt: ['Once upon a time', 'The weather today is'] } });
  const alone = await callJson(context, { path: '/v1/completions', body: { ...body, prompt: 'The weather today is' } });
  assert.equal(both.status, 200, JSON.stringify(both.body));
  assert.deepEqual(both.body.choices.map((c: any) => c.index), [0, 1]);
  assert.equal(both.body.choices[1].text, alone.body.choices[0].text);
  both.body.choices[1].logprobs.token_logprobs.forEach((l: number, i: number) => close(l, alone.body.choices[0].logprobs.token_logprobs[i], `token ${i}`));
  const ids = engine.tokenizer.encode('The weather today is');
  const byIds = await callJson(context, { path: '/v1/completions', body: { ...body, prompt: [ids] } });
  assert.equal(byIds.body.choices[0].text, alone.body.choices[0].text);
});

test('penalties change greedy text; 0 penalties change nothing', async () => {
  const body = { model: FIXTURE_ID, prompt: 'Once upon a time', max_tokens: 8, temperature: 0 };
  const plain = await callJson(context, { path: '/v1/completions', body });
  const zero = await callJson(context, { path: '/v1/completions', body: { ...body, frequency_penalty: 0, presence_penalty: 0 } });
  const varied = await callJson(context, { path: '/v1/completions', body: { ...body, frequency_penalty: 2, presence_penalty: 2, logprobs: 0 } });
  assert.equal(zero.body.choices[0].text, plain.body.choices[0].text);
  assert.equal(zero.body.choices[0].self_certainty, plain.body.choices[0].self_certainty);
  // Greedy on the random-weight fixture repeats one token; a presence penalty of 2 (more than its
  // logits spread) makes every repeat lose.
  assert.notEqual(varied.body.choices[0].text, plain.body.choices[0].text);
  const tokens: string[] = varied.body.choices[0].logprobs.tokens;
  assert.equal(new Set(tokens).size, tokens.length, `expected no repeated token: ${JSON.stringify(tokens)}`);
});
