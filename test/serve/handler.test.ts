// The pure handler on the fixture model (random weights: gibberish text, but real token counts,
// seeds and self-certainty values), without a socket.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServeContext, type ServeContext } from '../../src/serve/context.ts';
import { createModelEngine, type ModelEngine } from '../../src/serve/engine.ts';
import { Tokenizer } from '../../src/tokenizer/index.ts';
import { readTokenizerFiles } from '../../src/tokenizer/index.ts';
import { EventChannel } from '../../src/serve/stream.ts';
import { call, callJson, errorOf, FIXTURE_ID, fixtureDir, loadFixtureEngine, readEvents, recordingEngine } from './helpers.ts';

let engine: ModelEngine;
let context: ServeContext;
const messages = [{ role: 'user', content: 'What is 2 + 2?' }];

before(async () => {
  engine = await loadFixtureEngine();
  context = createServeContext({ engine, limits: { maxN: 4, maxBestOf: 8, maxTokens: 32 } });
});
after(() => engine.dispose());

const chat = (body: Record<string, unknown>) => callJson(context, { path: '/v1/chat/completions', body: { model: FIXTURE_ID, messages, max_tokens: 4, ...body } });
const complete = (body: Record<string, unknown>) => callJson(context, { path: '/v1/completions', body: { model: FIXTURE_ID, prompt: 'Once upon a time', max_tokens: 4, ...body } });

test('GET /v1/models lists the served model; /v1/models/{id} finds it or 404s', async () => {
  const list = await callJson(context, { method: 'GET', path: '/v1/models' });
  assert.equal(list.status, 200);
  assert.equal(list.body.object, 'list');
  assert.deepEqual(list.body.data.map((m: any) => [m.id, m.object, m.owned_by]), [[FIXTURE_ID, 'model', 'intuitor']]);
  assert.equal(list.body.data[0].max_model_len, 512);
  const one = await callJson(context, { method: 'GET', path: `/v1/models/${FIXTURE_ID}` });
  assert.equal(one.body.id, FIXTURE_ID);
  const missing = errorOf(await callJson(context, { method: 'GET', path: '/v1/models/gpt-4' }), 404);
  assert.equal(missing.code, 'model_not_found');
  assert.equal((await callJson(context, { method: 'GET', path: '/health' })).body.status, 'ok');
});

test('chat completion: n choices in OpenAI shape, self-certainty > 0, usage counted', async () => {
  const res = await chat({ n: 3, seed: 5 });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const body = res.body;
  assert.match(body.id, /^chatcmpl-[0-9a-f]{32}$/);
  assert.equal(body.object, 'chat.completion');
  assert.equal(body.model, FIXTURE_ID);
  assert.ok(Number.isInteger(body.created) && Math.abs(body.created - Date.now() / 1000) < 60);
  assert.deepEqual(body.choices.map((c: any) => c.index), [0, 1, 2]);
  for (const c of body.choices) {
    assert.equal(c.message.role, 'assistant');
    assert.equal(typeof c.message.content, 'string');
    assert.ok(c.message.content.length > 0);
    assert.equal(c.finish_reason, 'length'); // random weights: an EOS among 151936 tokens is unlikely
    assert.ok(typeof c.self_certainty === 'number' && c.self_certainty > 0, `self_certainty ${c.self_certainty}`);
  }
  const promptTokens = engine.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }).length;
  assert.deepEqual(body.usage, { prompt_tokens: promptTokens, completion_tokens: 12, total_tokens: promptTokens + 12 });
});

test('completions: a string or an array of one string, OpenAI shape and usage', async () => {
  const a = await complete({ seed: 3 });
  const b = await complete({ seed: 3, prompt: ['Once upon a time'] });
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.equal(a.body.object, 'text_completion');
  assert.match(a.body.id, /^cmpl-/);
  assert.equal(a.body.choices.length, 1);
  assert.equal(a.body.choices[0].finish_reason, 'length');
  assert.ok(a.body.choices[0].self_certainty > 0);
  assert.equal(a.body.choices[0].text, b.body.choices[0].text);
  const promptTokens = engine.tokenizer.encode('Once upon a time').length;
  assert.deepEqual(a.body.usage, { prompt_tokens: promptTokens, completion_tokens: 4, total_tokens: promptTokens + 4 });
  // Without max_tokens, completions default to 16 new tokens, as OpenAI's legacy endpoint.
  const d = await complete({ seed: 3, max_tokens: undefined });
  assert.equal(d.body.usage.completion_tokens, 16);
});

test('a stop string ends a choice with finish_reason "stop", cut before the stop string', async () => {
  const free = await complete({ seed: 11, max_tokens: 8 });
  const text: string = free.body.choices[0].text;
  const chars = [...text];
  const stop = chars.slice(1).find((c) => c !== '\uFFFD' && c.trim() !== '');
  assert.ok(stop, `no usable stop character in ${JSON.stringify(text)}`);
  const stopped = await complete({ seed: 11, max_tokens: 8, stop: [stop, 'never-generated'] });
  assert.equal(stopped.body.choices[0].finish_reason, 'stop');
  assert.equal(stopped.body.choices[0].text, text.slice(0, text.indexOf(stop)));
  assert.ok(stopped.body.usage.completion_tokens < 8);
});

test('the same seed gives the same choices; another seed others', async () => {
  const a = await chat({ n: 2, seed: 42, temperature: 1 });
  const b = await chat({ n: 2, seed: 42, temperature: 1 });
  const c = await chat({ n: 2, seed: 43, temperature: 1 });
  const view = (r: any) => r.body.choices.map((ch: any) => [ch.message.content, ch.self_certainty]);
  assert.deepEqual(view(a), view(b));
  assert.notDeepEqual(view(a), view(c));
});

test('best_of: the n most self-certain of the best_of candidates, most certain first', async () => {
  const all = await complete({ n: 4, seed: 9, max_tokens: 5 });
  const candidates = all.body.choices.map((c: any) => ({ text: c.text, sc: c.self_certainty }));
  assert.equal(new Set(candidates.map((c: any) => c.sc)).size, 4, 'the four candidates should differ in self-certainty');
  const best = await complete({ n: 2, best_of: 4, seed: 9, max_tokens: 5 });
  const expected = [...candidates].sort((x, y) => y.sc - x.sc).slice(0, 2);
  assert.deepEqual(best.body.choices.map((c: any) => ({ text: c.text, sc: c.self_certainty })), expected);
  assert.ok(best.body.choices[0].self_certainty > best.body.choices[1].self_certainty);
  assert.deepEqual(best.body.choices.map((c: any) => c.index), [0, 1]);
  // Every candidate's tokens count, as with OpenAI's best_of.
  assert.equal(best.body.usage.completion_tokens, 20);
  // best_of on chat as well.
  const chatBest = await chat({ n: 1, best_of: 3, seed: 9 });
  assert.equal(chatBest.body.choices.length, 1);
  assert.equal(chatBest.body.usage.completion_tokens, 12);
});

test('selection borda picks one of the candidates and reports the vote', async () => {
  const all = await chat({ n: 4, seed: 21 });
  const res = await chat({ n: 1, best_of: 4, seed: 21, selection: { method: 'borda', p: 0.5 } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.choices.length, 1);
  assert.ok(all.body.choices.some((c: any) => c.message.content === res.body.choices[0].message.content));
  assert.equal(res.body.selection.method, 'borda');
  assert.equal(res.body.selection.p, 0.5);
  assert.equal(res.body.selection.candidates, 4);
  assert.equal(res.body.selection.answer, res.body.choices[0].answer);
  assert.ok(res.body.selection.votes.reduce((s: number, v: any) => s + v.count, 0) <= 4);
});

test('streaming chat: role first, deltas that add up to the non-streamed text, finish, usage, [DONE]', async () => {
  const plain = await chat({ n: 2, seed: 77, max_tokens: 6 });
  const events = await readEvents(await call(context, { path: '/v1/chat/completions', body: { model: FIXTURE_ID, messages, n: 2, seed: 77, max_tokens: 6, stream: true, stream_options: { include_usage: true } } }));
  assert.equal(events.at(-1), '[DONE]');
  const chunks = events.slice(0, -1);
  const usageChunk = chunks.at(-1);
  assert.deepEqual(usageChunk.choices, []);
  assert.deepEqual(usageChunk.usage, plain.body.usage);
  for (const index of [0, 1]) {
    const mine = chunks.slice(0, -1).filter((c: any) => c.choices[0].index === index);
    assert.ok(mine.every((c: any) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id && c.usage === null));
    assert.deepEqual(mine[0].choices[0].delta, { role: 'assistant', content: '' });
    const text = mine.map((c: any) => c.choices[0].delta.content ?? '').join('');
    assert.equal(text, plain.body.choices[index].message.content);
    const last = mine.at(-1).choices[0];
    assert.equal(last.finish_reason, 'length');
    assert.equal(last.self_certainty, plain.body.choices[index].self_certainty);
    assert.ok(mine.slice(0, -1).every((c: any) => c.choices[0].finish_reason === null));
    assert.ok(mine.length >= 3, 'the text should arrive in more than one delta');
  }
});

test('streaming completions: text chunks add up to the non-streamed text', async () => {
  const plain = await complete({ seed: 5, max_tokens: 6 });
  const events = await readEvents(await call(context, { path: '/v1/completions', body: { model: FIXTURE_ID, prompt: 'Once upon a time', seed: 5, max_tokens: 6, stream: true } }));
  assert.equal(events.at(-1), '[DONE]');
  const chunks = events.slice(0, -1);
  assert.ok(chunks.every((c: any) => c.object === 'text_completion' && !('usage' in c)));
  assert.equal(chunks.map((c: any) => c.choices[0].text).join(''), plain.body.choices[0].text);
  assert.equal(chunks.at(-1).choices[0].finish_reason, 'length');
});

test('a consumer that stops reading a stream early cancels it; the server goes on', async () => {
  const response = await call(context, { path: '/v1/chat/completions', body: { model: FIXTURE_ID, messages, seed: 1, max_tokens: 12, stream: true } });
  assert.ok('events' in response);
  let seen = 0;
  for await (const _event of response.events) if (++seen === 2) break;
  assert.equal(seen, 2);
  assert.equal((response.events as EventChannel<string>).cancelled, true, 'breaking out of the loop cancels the stream');
  await context.scheduler.whenIdle();
  const next = await chat({ seed: 1 });
  assert.equal(next.status, 200);
});

test('prompt too long, or prompt + max_tokens beyond the context: 400 context_length_exceeded', async () => {
  const small = createServeContext({ engine, limits: { maxPromptTokens: 8, maxTokens: 600 } });
  const long = await callJson(small, { path: '/v1/completions', body: { model: FIXTURE_ID, prompt: 'one two three four five six seven eight nine ten', max_tokens: 2 } });
  const e1 = errorOf(long, 400);
  assert.equal(e1.code, 'context_length_exceeded');
  assert.equal(e1.param, 'prompt');
  assert.match(e1.message, /maximum prompt length is 8 tokens/);
  const wide = createServeContext({ engine, limits: { maxTokens: 600 } });
  const beyond = await callJson(wide, { path: '/v1/chat/completions', body: { model: FIXTURE_ID, messages, max_tokens: 510 } });
  const e2 = errorOf(beyond, 400);
  assert.equal(e2.code, 'context_length_exceeded');
  assert.equal(e2.param, 'messages');
  assert.match(e2.message, /maximum context length is 512 tokens/);
  assert.throws(() => createServeContext({ engine, limits: { maxPromptTokens: 512 } }), /at most 511/);
});

test('a model without a chat template: chat is a clear 400, completions still work', async () => {
  const files = await readTokenizerFiles(fixtureDir);
  const { chat_template: _dropped, ...config } = files.config as Record<string, unknown>;
  const plainTokenizer = Tokenizer.fromJSON(files.tokenizerJson, config, { name: 'no-template' });
  assert.equal(plainTokenizer.hasChatTemplate, false);
  const noTemplate = createServeContext({ engine: createModelEngine(engine.model, plainTokenizer, FIXTURE_ID) });
  const res = await callJson(noTemplate, { path: '/v1/chat/completions', body: { model: FIXTURE_ID, messages, max_tokens: 2 } });
  const error = errorOf(res, 400);
  assert.equal(error.code, 'chat_template_missing');
  assert.match(error.message, /no chat template.*\/v1\/completions/);
  const ok = await callJson(noTemplate, { path: '/v1/completions', body: { model: FIXTURE_ID, prompt: 'Hi', max_tokens: 2 } });
  assert.equal(ok.status, 200);
});

test('a stream whose client goes away stops generating; the request batched with it gets its full, unchanged result', async () => {
  const other = { model: FIXTURE_ID, prompt: 'The weather today is', max_tokens: 24, temperature: 0 };
  const alone = await callJson(context, { path: '/v1/completions', body: other });
  assert.equal(alone.status, 200, JSON.stringify(alone.body));
  const recording = recordingEngine(engine);
  const shared = createServeContext({ engine: recording.engine, limits: { maxTokens: 32 } });
  const gone = new AbortController();
  // Same sampling settings, no seed: the two requests share one generate() call.
  const streamed = await call(shared, { path: '/v1/completions', body: { ...other, prompt: 'Once upon a time', stream: true }, signal: gone.signal });
  const full = callJson(shared, { path: '/v1/completions', body: other });
  assert.ok('events' in streamed);
  let seen = 0;
  for await (const _event of streamed.events) {
    if (++seen === 2) gone.abort(); // the client disconnects after two chunks
  }
  assert.equal(seen, 2, 'the stream ends after the abort, without an error event');
  const res = await full;
  assert.equal(res.status, 200, JSON.stringify(res.body));
  // The same text as alone (batching moves self-certainty only by float rounding) ...
  const view = (r: any) => r.body.choices.map((c: any) => [c.text, c.finish_reason]);
  assert.deepEqual(view(res), view(alone));
  assert.ok(Math.abs(res.body.choices[0].self_certainty - alone.body.choices[0].self_certainty) < 1e-5);
  assert.deepEqual(res.body.usage, alone.body.usage);
  // ... and exactly what the same batch gives when no one cancels.
  const both = await Promise.all([
    callJson(shared, { path: '/v1/completions', body: { ...other, prompt: 'Once upon a time' } }),
    callJson(shared, { path: '/v1/completions', body: other }),
  ]);
  assert.deepEqual(both[1].body.choices, res.body.choices);
  assert.equal(recording.results.length, 2);
  const [cancelled, complete] = recording.results[0]!;
  assert.deepEqual(complete, recording.results[1]![1]);
  assert.equal(complete!.tokenIds.length, 24);
  assert.ok(cancelled!.tokenIds.length < 8, `the abandoned row stopped early: ${cancelled!.tokenIds.length} tokens of 24`);
  assert.equal(shared.scheduler.stats.cancelled, 1);
});
