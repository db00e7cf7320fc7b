// Log-probabilities, echo, prompt arrays and penalties through the pure handler, on the fake engine
// (one character per token, log-probability -1 per generated token, -0.25 per prompt token after
// the first, alternatives 'A', 'B', ... at -0.5, -1.5, ...): the shapes OpenAI's API reference
// gives, streamed and not, and what reaches the engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServeContext } from '../../src/serve/context.ts';
import { call, callJson, FakeEngine, readEvents } from './helpers.ts';

const chatPath = '/v1/chat/completions';
const completionPath = '/v1/completions';
const messages = [{ role: 'user', content: 'hi' }];

function setup() {
  const engine = new FakeEngine();
  engine.contextLength = 256;
  const context = createServeContext({ engine, limits: { maxN: 4, maxBestOf: 8, maxTokens: 16 } });
  return { engine, context };
}

const utf8 = (text: string) => [...Buffer.from(text, 'utf8')];

test('chat logprobs: content[i] = {token, logprob, bytes, top_logprobs}, most likely first; refusal null', async () => {
  const { engine, context } = setup();
  engine.texts = ['é€x'];
  const res = await callJson(context, { path: chatPath, body: { model: 'fake-model', messages, max_tokens: 3, logprobs: true, top_logprobs: 2 } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const { logprobs, message } = res.body.choices[0];
  assert.equal(message.content, 'é€x');
  assert.equal(logprobs.refusal, null);
  assert.deepEqual(logprobs.content, [
    { token: 'é', logprob: -1, bytes: [0xc3, 0xa9], top_logprobs: [{ token: 'A', logprob: -0.5, bytes: [65] }, { token: 'B', logprob: -1.5, bytes: [66] }] },
    { token: '€', logprob: -1, bytes: [0xe2, 0x82, 0xac], top_logprobs: [{ token: 'A', logprob: -0.5, bytes: [65] }, { token: 'B', logprob: -1.5, bytes: [66] }] },
    { token: 'x', logprob: -1, bytes: [120], top_logprobs: [{ token: 'A', logprob: -0.5, bytes: [65] }, { token: 'B', logprob: -1.5, bytes: [66] }] },
  ]);
  assert.equal(engine.calls.at(-1)!.topLogprobs, 2, 'the engine is asked for the alternatives');
  // logprobs without top_logprobs: every entry has an empty top_logprobs; the engine computes none.
  const bare = await callJson(context, { path: chatPath, body: { model: 'fake-model', messages, max_tokens: 2, logprobs: true } });
  assert.deepEqual(bare.body.choices[0].logprobs.content.map((e: any) => e.top_logprobs), [[], []]);
  assert.equal(engine.calls.at(-1)!.topLogprobs, undefined);
  const none = await callJson(context, { path: chatPath, body: { model: 'fake-model', messages, max_tokens: 2 } });
  assert.equal(none.body.choices[0].logprobs, null);
});

test('legacy logprobs: tokens, token_logprobs, top_logprobs (alternatives + the chosen token), text_offset', async () => {
  const { engine, context } = setup();
  engine.texts = ['aé€'];
  const res = await callJson(context, { path: completionPath, body: { model: 'fake-model', prompt: 'q', max_tokens: 3, logprobs: 2 } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body.choices[0].logprobs, {
    tokens: ['a', 'é', '€'],
    token_logprobs: [-1, -1, -1],
    top_logprobs: [
      { A: -0.5, B: -1.5, a: -1 },
      { A: -0.5, B: -1.5, é: -1 },
      { A: -0.5, B: -1.5, '€': -1 },
    ],
    text_offset: [0, 1, 2],
  });
  // logprobs 0: the chosen token alone in each top_logprobs entry.
  const zero = await callJson(context, { path: completionPath, body: { model: 'fake-model', prompt: 'q', max_tokens: 2, logprobs: 0 } });
  assert.deepEqual(zero.body.choices[0].logprobs.top_logprobs, [{ a: -1 }, { é: -1 }]);
  // A chosen token that is among the alternatives appears once.
  engine.texts = ['AB'];
  const among = await callJson(context, { path: completionPath, body: { model: 'fake-model', prompt: 'q', max_tokens: 2, logprobs: 1 } });
  assert.deepEqual(among.body.choices[0].logprobs.top_logprobs, [{ A: -0.5 }, { A: -0.5, B: -1 }]);
});

test('text_offset counts code points, as Python does: an astral character is one', async () => {
  const { engine, context } = setup();
  engine.texts = ['😀xy'];
  const res = await callJson(context, { path: completionPath, body: { model: 'fake-model', prompt: 'q', max_tokens: 3, logprobs: 0 } });
  assert.deepEqual(res.body.choices[0].logprobs.text_offset, [0, 1, 2]);
  assert.deepEqual(res.body.choices[0].logprobs.tokens, ['😀', 'x', 'y']);
});

test('echo: the prompt comes first in the text and in the logprobs, its first token null', async () => {
  const { engine, context } = setup();
  engine.texts = ['xy'];
  const res = await callJson(context, { path: completionPath, body: { model: 'fake-model', prompt: 'abc', max_tokens: 2, echo: true, logprobs: 1 } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const choice = res.body.choices[0];
  assert.equal(choice.text, 'abcxy');
  assert.deepEqual(choice.logprobs, {
    tokens: ['a', 'b', 'c', 'x', 'y'],
    token_logprobs: [null, -0.25, -0.25, -1, -1],
    top_logprobs: [null, { A: -0.5, b: -0.25 }, { A: -0.5, c: -0.25 }, { A: -0.5, x: -1 }, { A: -0.5, y: -1 }],
    text_offset: [0, 1, 2, 3, 4],
  });
  const plain = await callJson(context, { path: completionPath, body: { model: 'fake-model', prompt: 'abc', max_tokens: 2, echo: true } });
  assert.equal(plain.body.choices[0].text, 'abcxy');
  assert.equal(plain.body.choices[0].logprobs, null);
});

test('echo with max_tokens 0 scores the prompt only: nothing reaches the engine, no completion tokens', async () => {
  const { engine, context } = setup();
  const calls = engine.calls.length;
  const res = await callJson(context, { path: completionPath, body: { model: 'fake-model', prompt: 'hello', max_tokens: 0, echo: true, logprobs: 0, n: 2 } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(engine.calls.length, calls);
  assert.equal(res.body.choices.length, 2);
  for (const choice of res.body.choices) {
    assert.equal(choice.text, 'hello');
    assert.deepEqual(choice.logprobs.token_logprobs, [null, -0.25, -0.25, -0.25, -0.25]);
    assert.equal(choice.finish_reason, 'length');
  }
  assert.deepEqual(res.body.usage, { prompt_tokens: 5, completion_tokens: 0, total_tokens: 5 });
});

test('prompt arrays: one job, choices prompt-major (index = prompt * n + i), usage over all prompts', async () => {
  const { engine, context } = setup();
  const calls = engine.calls.length;
  const res = await callJson(context, { path: completionPath, body: { model: 'fake-model', prompt: ['first A', 'second B', [0x43]], max_tokens: 3, n: 2 } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(engine.calls.length, calls + 1, 'all prompts generate in one engine call');
  assert.deepEqual(engine.calls.at(-1)!.prompts.map((p) => engine.decode(p)), ['first A', 'first A', 'second B', 'second B', 'C', 'C']);
  assert.deepEqual(res.body.choices.map((c: any) => c.index), [0, 1, 2, 3, 4, 5]);
  // The fake text starts with its prompt's last character.
  assert.deepEqual(res.body.choices.map((c: any) => c.text[0]), ['A', 'A', 'B', 'B', 'C', 'C']);
  assert.deepEqual(res.body.usage, { prompt_tokens: 7 + 8 + 1, completion_tokens: 18, total_tokens: 34 });
  // best_of ranks each prompt's own candidates.
  engine.certainties = [1, 5, 2, 9, 3, 4];
  const best = await callJson(context, { path: completionPath, body: { model: 'fake-model', prompt: ['x', 'y'], max_tokens: 2, n: 1, best_of: 3 } });
  assert.deepEqual(best.body.choices.map((c: any) => [c.index, c.self_certainty]), [[0, 5], [1, 9]]);
  // A token-id prompt: one array of ids.
  const ids = await callJson(context, { path: completionPath, body: { model: 'fake-model', prompt: [0x68, 0x69], max_tokens: 2, echo: true } });
  assert.equal(ids.body.choices[0].text.slice(0, 2), 'hi');
});

test('penalties reach the engine, and requests with different penalties are not batched together', async () => {
  const { engine, context } = setup();
  engine.block();
  const started = engine.nextCall();
  const first = callJson(context, { path: completionPath, body: { model: 'fake-model', prompt: 'a', max_tokens: 2 } });
  await started;
  const body = (extra: object) => ({ model: 'fake-model', prompt: 'b', max_tokens: 2, ...extra });
  const waiting = [
    callJson(context, { path: completionPath, body: body({ frequency_penalty: 0.5, presence_penalty: -1 }) }),
    callJson(context, { path: completionPath, body: body({ frequency_penalty: 0.5, presence_penalty: -1 }) }),
    callJson(context, { path: completionPath, body: body({}) }),
  ];
  await new Promise((r) => setImmediate(r));
  engine.release();
  await Promise.all([first, ...waiting]);
  const penalised = engine.calls.filter((c) => c.frequencyPenalty === 0.5 && c.presencePenalty === -1);
  assert.deepEqual(penalised.map((c) => c.prompts.length), [2], 'the two penalised requests share a call');
  assert.ok(engine.calls.filter((c) => c.frequencyPenalty === 0 && c.presencePenalty === 0).length >= 2);
});

test('a request without logprobs batched with one that asks gets none; the other gets its own k', async () => {
  const { engine, context } = setup();
  engine.block();
  const started = engine.nextCall();
  const first = callJson(context, { path: completionPath, body: { model: 'fake-model', prompt: 'a', max_tokens: 2 } });
  await started;
  const asking = callJson(context, { path: completionPath, body: { model: 'fake-model', prompt: 'b', max_tokens: 2, logprobs: 3 } });
  const fewer = callJson(context, { path: completionPath, body: { model: 'fake-model', prompt: 'c', max_tokens: 2, logprobs: 1 } });
  const plain = callJson(context, { path: completionPath, body: { model: 'fake-model', prompt: 'd', max_tokens: 2 } });
  await new Promise((r) => setImmediate(r));
  engine.release();
  const [, a, f, p] = await Promise.all([first, asking, fewer, plain]);
  assert.deepEqual(engine.calls.at(-1)!.prompts.length, 3, 'the three waiting requests share a call');
  assert.equal(engine.calls.at(-1)!.topLogprobs, 3);
  assert.equal(Object.keys(a.body.choices[0].logprobs.top_logprobs[0]).length, 4);
  assert.deepEqual(f.body.choices[0].logprobs.top_logprobs[0], { A: -0.5, c: -1 });
  assert.equal(p.body.choices[0].logprobs, null);
});

test('streamed chat: each chunk carries the logprobs of the tokens in its delta; together they are the whole', async () => {
  const { engine, context } = setup();
  // 'XY' could start the stop string 'XYZ': its text, and with it its tokens, wait for the end.
  engine.texts = ['abcdXY'];
  const body = { model: 'fake-model', messages, max_tokens: 6, logprobs: true, top_logprobs: 1, stop: ['XYZ'] };
  const plain = await callJson(context, { path: chatPath, body });
  const events = await readEvents(await call(context, { path: chatPath, body: { ...body, stream: true } }));
  const chunks = events.slice(0, -1).map((e: any) => e.choices[0]);
  const withLogprobs = chunks.filter((c: any) => c.logprobs !== null);
  assert.ok(withLogprobs.length >= 2, 'more than one chunk carries logprobs');
  for (const c of withLogprobs) assert.equal(c.logprobs.refusal, null);
  const streamed = withLogprobs.flatMap((c: any) => c.logprobs.content);
  assert.deepEqual(streamed, plain.body.choices[0].logprobs.content);
  // Every chunk's tokens spell its delta: 'X' and 'Y' ride together with the last one.
  for (const c of withLogprobs) assert.equal(c.logprobs.content.map((e: any) => e.token).join(''), c.delta.content);
  assert.deepEqual(withLogprobs.map((c: any) => c.delta.content), ['a', 'b', 'c', 'd', 'XY']);
});

test('streamed completions with echo and logprobs: the prompt first, then offsets that continue from it', async () => {
  const { engine, context } = setup();
  engine.texts = ['xyz'];
  const body = { model: 'fake-model', prompt: 'ab', max_tokens: 3, echo: true, logprobs: 0 };
  const plain = await callJson(context, { path: completionPath, body });
  const events = await readEvents(await call(context, { path: completionPath, body: { ...body, stream: true } }));
  const chunks = events.slice(0, -1).map((e: any) => e.choices[0]);
  assert.equal(chunks[0].text, 'ab');
  assert.deepEqual(chunks[0].logprobs.token_logprobs, [null, -0.25]);
  assert.equal(chunks.map((c: any) => c.text).join(''), plain.body.choices[0].text);
  const joined = (key: string) => chunks.filter((c: any) => c.logprobs).flatMap((c: any) => c.logprobs[key]);
  for (const key of ['tokens', 'token_logprobs', 'top_logprobs', 'text_offset']) assert.deepEqual(joined(key), plain.body.choices[0].logprobs[key], key);
  assert.deepEqual(joined('text_offset'), [0, 1, 2, 3, 4]);
});

test('a last token with no text of its own (like an EOS) still has its logprobs sent, in a chunk of empty text', async () => {
  // Decoding skips U+2400 as a tokenizer skips a special token.
  class EosEngine extends FakeEngine {
    override decode(tokenIds: number[]): string {
      return super.decode(tokenIds.filter((id) => id !== 0x2400));
    }
  }
  const engine = new EosEngine();
  engine.texts = ['ab\u2400'];
  const context = createServeContext({ engine });
  const body = { model: 'fake-model', prompt: 'q', max_tokens: 3, logprobs: 0, stream: true };
  const chunks = (await readEvents(await call(context, { path: completionPath, body }))).slice(0, -1).map((e: any) => e.choices[0]);
  const carrying = chunks.filter((c: any) => c.logprobs);
  assert.deepEqual(carrying.map((c: any) => [c.text, c.logprobs.tokens]), [['a', ['a']], ['b', ['b']], ['', ['\u2400']]]);
  assert.deepEqual(carrying.at(-1).logprobs.text_offset, [2]);
});

test('bytes are the UTF-8 of each token\'s text', async () => {
  const { engine, context } = setup();
  engine.texts = ['ñ😀'];
  const res = await callJson(context, { path: chatPath, body: { model: 'fake-model', messages, max_tokens: 2, logprobs: true } });
  assert.deepEqual(res.body.choices[0].logprobs.content.map((e: any) => e.bytes), [utf8('ñ'), utf8('😀')]);
});
