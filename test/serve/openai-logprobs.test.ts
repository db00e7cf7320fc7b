// End to end with the official `openai` client over HTTP on the fixture model: log-probabilities
// (chat and legacy, streamed and not), echo, prompt arrays and penalties in the shapes of OpenAI's
// API reference; their validation errors as the client's APIError; and the access log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { APIError } from 'openai';
import { createServeContext } from '../../src/serve/context.ts';
import type { ModelEngine } from '../../src/serve/engine.ts';
import { accessLogLine, startServer, type RunningServer } from '../../src/serve/http.ts';
import { FIXTURE_ID, loadFixtureEngine } from './helpers.ts';

let engine: ModelEngine;
let server: RunningServer;
let client: OpenAI;
const logLines: string[] = [];
const messages = [{ role: 'user' as const, content: 'Say something.' }];

before(async () => {
  engine = await loadFixtureEngine();
  const context = createServeContext({ engine, limits: { maxN: 4, maxBestOf: 8, maxTokens: 32 } });
  server = await startServer({ context, port: 0, accessLog: (line) => logLines.push(line) });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20_000 });
});

after(async () => {
  await server.close();
  engine.dispose();
});

const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

test('chat: logprobs.content[i] has token, logprob, bytes and top_logprobs, as the API reference shapes it', async () => {
  const res = await client.chat.completions.create({ model: FIXTURE_ID, messages, max_tokens: 5, seed: 2, logprobs: true, top_logprobs: 3 });
  const logprobs = res.choices[0]!.logprobs!;
  assert.deepEqual(Object.keys(logprobs).sort(), ['content', 'refusal']);
  assert.equal(logprobs.refusal, null);
  const content = logprobs.content!;
  assert.equal(content.length, res.usage!.completion_tokens);
  for (const entry of content) {
    assert.deepEqual(Object.keys(entry).sort(), ['bytes', 'logprob', 'token', 'top_logprobs']);
    assert.ok(isNumber(entry.logprob) && entry.logprob <= 0);
    assert.deepEqual(entry.bytes, [...Buffer.from(entry.token, 'utf8')]);
    assert.equal(entry.top_logprobs.length, 3);
    for (const alt of entry.top_logprobs) {
      assert.deepEqual(Object.keys(alt).sort(), ['bytes', 'logprob', 'token']);
      assert.deepEqual(alt.bytes, [...Buffer.from(alt.token, 'utf8')]);
    }
    assert.deepEqual(entry.top_logprobs.map((a) => a.logprob), [...entry.top_logprobs.map((a) => a.logprob)].sort((a, b) => b - a));
  }
  const plain = await client.chat.completions.create({ model: FIXTURE_ID, messages, max_tokens: 2 });
  assert.equal(plain.choices[0]!.logprobs, null);
});

test('chat, streamed: the chunks\' logprobs add up to the non-streamed ones', async () => {
  const body = { model: FIXTURE_ID, messages, max_tokens: 6, seed: 4, logprobs: true, top_logprobs: 2 };
  const plain = await client.chat.completions.create(body);
  const stream = await client.chat.completions.create({ ...body, stream: true });
  const streamed: OpenAI.Chat.ChatCompletionTokenLogprob[] = [];
  for await (const chunk of stream) streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
  assert.deepEqual(streamed, plain.choices[0]!.logprobs!.content);
});

test('legacy: logprobs has tokens, token_logprobs, top_logprobs and text_offset; echo puts the prompt first', async () => {
  const prompt = 'The capital of France is';
  const res = await client.completions.create({ model: FIXTURE_ID, prompt, max_tokens: 3, seed: 5, logprobs: 2, echo: true });
  const choice = res.choices[0]!;
  assert.ok(choice.text.startsWith(prompt));
  const lp = choice.logprobs!;
  assert.deepEqual(Object.keys(lp).sort(), ['text_offset', 'token_logprobs', 'tokens', 'top_logprobs']);
  const promptTokens = res.usage!.prompt_tokens;
  assert.equal(lp.tokens!.length, promptTokens + 3);
  assert.equal(lp.tokens!.slice(0, promptTokens).join(''), prompt);
  assert.equal(lp.token_logprobs![0], null, "nothing predicts the prompt's first token");
  assert.equal(lp.top_logprobs![0], null);
  assert.ok(lp.token_logprobs!.slice(1).every((l) => isNumber(l) && l <= 0));
  for (const [i, top] of lp.top_logprobs!.slice(1).entries()) {
    const keys = Object.keys(top!);
    assert.ok(keys.length >= 2 && keys.length <= 3, 'two alternatives, and the chosen token when it is not one of them');
    assert.equal(top![lp.tokens![i + 1]!], lp.token_logprobs![i + 1]);
  }
  assert.equal(lp.text_offset![0], 0);
  assert.equal(lp.text_offset![promptTokens], prompt.length);
  // The loglikelihood request: echo, max_tokens 0, the prompt alone.
  const scored = await client.completions.create({ model: FIXTURE_ID, prompt, max_tokens: 0, echo: true, logprobs: 0 });
  assert.equal(scored.choices[0]!.text, prompt);
  assert.deepEqual(scored.choices[0]!.logprobs!.token_logprobs, lp.token_logprobs!.slice(0, promptTokens));
  assert.equal(scored.usage!.completion_tokens, 0);
});

test('prompt arrays (strings, token ids) and penalties through the client', async () => {
  const res = await client.completions.create({ model: FIXTURE_ID, prompt: ['One', 'Two', 'Three'], max_tokens: 2, n: 2, frequency_penalty: 0.5, presence_penalty: -0.5 });
  assert.deepEqual(res.choices.map((c) => c.index), [0, 1, 2, 3, 4, 5]);
  assert.equal(res.usage!.completion_tokens, 12);
  const ids = engine.tokenizer.encode('Hello world');
  const byIds = await client.completions.create({ model: FIXTURE_ID, prompt: [ids, ids.slice(0, 1)], max_tokens: 2, echo: true, temperature: 0 });
  assert.ok(byIds.choices[0]!.text.startsWith('Hello world'));
  assert.ok(byIds.choices[1]!.text.startsWith('Hello'));
  const single = await client.completions.create({ model: FIXTURE_ID, prompt: ids, max_tokens: 2, temperature: 0 });
  assert.equal(single.choices[0]!.text, byIds.choices[0]!.text.slice('Hello world'.length));
});

test('bad logprobs parameters are the client\'s APIError 400 naming the parameter', async () => {
  const expect400 = async (promise: Promise<unknown>, param: string, code: string) => {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof APIError, String(error));
      assert.equal(error.status, 400);
      assert.equal(error.param, param);
      assert.equal(error.code, code);
      return true;
    });
  };
  await expect400(client.chat.completions.create({ model: FIXTURE_ID, messages, max_tokens: 2, logprobs: true, top_logprobs: 21 }), 'top_logprobs', 'integer_above_max_value');
  await expect400(client.chat.completions.create({ model: FIXTURE_ID, messages, max_tokens: 2, top_logprobs: 2 }), 'top_logprobs', 'invalid_value');
  await expect400(client.completions.create({ model: FIXTURE_ID, prompt: 'x', max_tokens: 2, logprobs: 6 }), 'logprobs', 'integer_above_max_value');
  await expect400(client.completions.create({ model: FIXTURE_ID, prompt: 'x', max_tokens: 2, presence_penalty: 2.5 }), 'presence_penalty', 'decimal_above_max_value');
});

test('the access log has one line per request: method, path, status, duration, token counts', async () => {
  logLines.length = 0;
  await fetch(`${server.url}/health?probe=1`);
  await client.completions.create({ model: FIXTURE_ID, prompt: 'Hello', max_tokens: 3 });
  const stream = await client.chat.completions.create({ model: FIXTURE_ID, messages, max_tokens: 4, stream: true });
  for await (const _chunk of stream);
  await fetch(`${server.url}/v1/completions`, { method: 'POST', body: '{"model":' });
  await fetch(`${server.url}/nowhere`);
  for (let i = 0; i < 100 && logLines.length < 5; i++) await new Promise((r) => setTimeout(r, 10));
  const promptTokens = engine.tokenizer.encode('Hello').length;
  const chatTokens = engine.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }).length;
  const patterns = [
    /^intuitor serve: GET \/health 200 \d+ ms$/,
    new RegExp(`^intuitor serve: POST /v1/completions 200 \\d+ ms prompt_tokens=${promptTokens} completion_tokens=3$`),
    new RegExp(`^intuitor serve: POST /v1/chat/completions 200 \\d+ ms prompt_tokens=${chatTokens} completion_tokens=4$`),
    /^intuitor serve: POST \/v1\/completions 400 \d+ ms$/,
    /^intuitor serve: GET \/nowhere 404 \d+ ms$/,
  ];
  assert.equal(logLines.length, patterns.length, logLines.join('\n'));
  patterns.forEach((pattern, i) => assert.match(logLines[i]!, pattern));
});

test('accessLogLine: the query string is left out; counts only when known', () => {
  assert.equal(accessLogLine('GET', '/v1/models?key=secret', 200, 1.4, undefined), 'intuitor serve: GET /v1/models 200 1 ms');
  assert.equal(accessLogLine('POST', '/v1/completions', 499, 20, { prompt: 4, completion: undefined }), 'intuitor serve: POST /v1/completions 499 20 ms prompt_tokens=4');
});

test('accessLog: false writes no lines', async (t) => {
  const quiet = await startServer({ context: createServeContext({ engine }), port: 0, accessLog: false });
  t.after(() => quiet.close());
  const before = logLines.length;
  const written: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    assert.equal((await fetch(`${quiet.url}/health`)).status, 200);
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    process.stderr.write = original;
  }
  assert.deepEqual(written.filter((w) => w.includes('intuitor serve:')), []);
  assert.equal(logLines.length, before);
});
