// End to end: the fastify server on 127.0.0.1 (port 0) with the fixture model, driven by the
// official `openai` client, plus raw HTTP for what a client library hides.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { APIError } from 'openai';
import { createServeContext, type ServeContext } from '../../src/serve/context.ts';
import type { ModelEngine } from '../../src/serve/engine.ts';
import { isLoopbackHost, startServer, type RunningServer } from '../../src/serve/http.ts';
import { FakeEngine, FIXTURE_ID, loadFixtureEngine, recordingEngine } from './helpers.ts';

const API_KEY = 'sk-intuitor-e2e';
let engine: ModelEngine;
let context: ServeContext;
let server: RunningServer;
let client: OpenAI;
const messages = [{ role: 'user' as const, content: 'Count to three.' }];

before(async () => {
  engine = await loadFixtureEngine();
  context = createServeContext({ engine, apiKey: API_KEY, limits: { maxN: 4, maxBestOf: 8, maxTokens: 64 } });
  server = await startServer({ context, host: '127.0.0.1', port: 0, bodyLimit: 64 * 1024 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: API_KEY, maxRetries: 0, timeout: 20_000 });
});

after(async () => {
  await server.close();
  engine.dispose();
});

test('the server listens on the loopback address it was given, on a free port', () => {
  assert.equal(server.host, '127.0.0.1');
  assert.ok(server.port > 0);
  assert.equal(server.url, `http://127.0.0.1:${server.port}`);
});

test('models.list and a non-streaming chat completion through the client', async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), [FIXTURE_ID]);
  const res = await client.chat.completions.create({ model: FIXTURE_ID, messages, max_tokens: 4, n: 2, seed: 3 });
  assert.equal(res.object, 'chat.completion');
  assert.equal(res.choices.length, 2);
  for (const choice of res.choices) {
    assert.equal(choice.message.role, 'assistant');
    assert.ok((choice.message.content ?? '').length > 0);
    assert.equal(choice.finish_reason, 'length');
    assert.ok((choice as unknown as { self_certainty: number }).self_certainty > 0);
  }
  assert.equal(res.usage?.completion_tokens, 8);
  assert.equal(res.usage?.prompt_tokens, engine.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }).length);
});

test('a completion, and best_of ranking its candidates by self-certainty', async () => {
  const res = await client.completions.create({ model: FIXTURE_ID, prompt: 'The capital of France is', max_tokens: 3, seed: 8 });
  assert.equal(res.object, 'text_completion');
  assert.equal(res.choices.length, 1);
  assert.equal(res.usage?.completion_tokens, 3);
  const all = await client.completions.create({ model: FIXTURE_ID, prompt: 'The capital of France is', max_tokens: 3, seed: 8, n: 3 });
  const best = await client.completions.create({ model: FIXTURE_ID, prompt: 'The capital of France is', max_tokens: 3, seed: 8, n: 1, best_of: 3 });
  const score = (c: unknown) => (c as { self_certainty: number }).self_certainty;
  const top = [...all.choices].sort((a, b) => score(b) - score(a))[0]!;
  assert.equal(best.choices[0]!.text, top.text);
  assert.equal(score(best.choices[0]), Math.max(...all.choices.map(score)));
  assert.equal(best.usage?.completion_tokens, 9);
});

test('a streamed chat adds up to the non-streamed text for the same seed', async () => {
  const plain = await client.chat.completions.create({ model: FIXTURE_ID, messages, max_tokens: 6, seed: 19 });
  const stream = await client.chat.completions.create({ model: FIXTURE_ID, messages, max_tokens: 6, seed: 19, stream: true });
  let text = '';
  let chunks = 0;
  let finish: string | null = null;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    text += chunk.choices[0]?.delta.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(text, plain.choices[0]!.message.content);
  assert.equal(finish, 'length');
  assert.ok(chunks >= 3);
});

test('errors arrive as the client\'s APIError with the right status, code and param', async () => {
  const expectError = async (promise: Promise<unknown>, status: number, code: string, param: string | null) => {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof APIError, `expected APIError, got ${String(error)}`);
      assert.equal(error.status, status);
      assert.equal(error.code, code);
      assert.equal(error.param, param);
      return true;
    });
  };
  await expectError(client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 2 }), 404, 'model_not_found', 'model');
  await expectError(client.chat.completions.create({ model: FIXTURE_ID, messages, max_tokens: 2, n: 9 }), 400, 'integer_above_max_value', 'n');
  await expectError(client.completions.create({ model: FIXTURE_ID, prompt: 'x', max_tokens: 2, n: 2, best_of: 1 }), 400, 'invalid_value', 'best_of');
  const stranger = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
  await expectError(stranger.models.list(), 401, 'invalid_api_key', null);
  await assert.rejects(stranger.models.list(), OpenAI.AuthenticationError);
});

test('four clients at once are all answered', async () => {
  const clients = [0, 1, 2, 3].map(() => new OpenAI({ baseURL: `${server.url}/v1`, apiKey: API_KEY, maxRetries: 0, timeout: 20_000 }));
  const before = context.scheduler.stats.requests;
  const answers = await Promise.all(
    clients.map((c, i) =>
      i % 2 === 0
        ? c.chat.completions.create({ model: FIXTURE_ID, messages: [{ role: 'user', content: `question ${i}` }], max_tokens: 3 }).then((r) => r.choices[0]!.message.content)
        : c.completions.create({ model: FIXTURE_ID, prompt: `prompt ${i}`, max_tokens: 3 }).then((r) => r.choices[0]!.text),
    ),
  );
  assert.equal(answers.length, 4);
  assert.ok(answers.every((a) => typeof a === 'string' && a.length > 0));
  assert.equal(context.scheduler.stats.requests - before, 4);
});

test('raw HTTP: /health without a key, invalid JSON, an oversized body, an unknown route', async () => {
  const health = await fetch(`${server.url}/health`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });
  const headers = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };
  const bad = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers, body: '{"model": ' });
  assert.equal(bad.status, 400);
  const badBody = (await bad.json()) as { error: Record<string, unknown> };
  assert.deepEqual(Object.keys(badBody.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(badBody.error.code, 'invalid_json');
  const huge = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers, body: JSON.stringify({ model: FIXTURE_ID, prompt: 'x'.repeat(70_000) }) });
  assert.equal(huge.status, 413);
  assert.equal(((await huge.json()) as { error: { code: string } }).error.code, 'request_too_large');
  const textBody = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { authorization: headers.authorization, 'content-type': 'text/plain' }, body: JSON.stringify({ model: FIXTURE_ID, prompt: 'Hi', max_tokens: 1 }) });
  assert.equal(textBody.status, 200, 'any content type carries JSON');
  const nowhere = await fetch(`${server.url}/nowhere`);
  assert.equal(nowhere.status, 404);
  assert.equal(((await nowhere.json()) as { error: { code: string } }).error.code, 'unknown_url');
});

test('a client that disconnects mid-stream does not disturb the server', async () => {
  const controller = new AbortController();
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: FIXTURE_ID, messages, max_tokens: 40, stream: true }),
    signal: controller.signal,
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = res.body!.getReader();
  const first = await reader.read();
  assert.match(new TextDecoder().decode(first.value), /^data: \{/);
  controller.abort();
  await reader.read().catch(() => undefined);
  await context.scheduler.whenIdle();
  const after = await client.completions.create({ model: FIXTURE_ID, prompt: 'still there?', max_tokens: 2 });
  assert.equal(after.choices.length, 1);
});

/** A second server over the fixture model whose engine records every generate() call's results. */
async function recordingServer(t: { after(fn: () => Promise<void>): void }) {
  const recording = recordingEngine(engine);
  const errors: unknown[] = [];
  const ctx = createServeContext({ engine: recording.engine, limits: { maxTokens: 400 }, onError: (e) => errors.push(e) });
  const srv = await startServer({ context: ctx, port: 0 });
  t.after(() => srv.close());
  return { ...recording, context: ctx, server: srv, errors };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(condition(), `timed out waiting until ${what}`);
}

test('a streaming client that disconnects stops its generation; the request queued behind it then runs', { timeout: 30_000 }, async (t) => {
  const { context: ctx, server: srv, results, nextCall, errors } = await recordingServer(t);
  const controller = new AbortController();
  const started = nextCall();
  const res = await fetch(`${srv.url}/v1/completions`, {
    method: 'POST',
    body: JSON.stringify({ model: FIXTURE_ID, prompt: 'Tell me a long story.', max_tokens: 400, temperature: 0, stream: true }),
    signal: controller.signal,
  });
  assert.equal(res.status, 200);
  await started;
  const reader = res.body!.getReader();
  assert.match(new TextDecoder().decode((await reader.read()).value), /^data: \{/);
  const queued = fetch(`${srv.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: FIXTURE_ID, prompt: 'next', max_tokens: 5 }) });
  await until(() => ctx.scheduler.waiting === 1, 'the second request waits');
  controller.abort();
  await reader.read().catch(() => undefined);
  const next = await queued;
  assert.equal(next.status, 200);
  assert.equal(((await next.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens, 5);
  assert.equal(results.length, 2);
  const generated = results[0]![0]!.tokenIds.length;
  assert.ok(generated < 100, `the abandoned stream stopped soon: ${generated} of 400 tokens generated`);
  assert.equal(ctx.scheduler.stats.cancelled, 1);
  assert.deepEqual(errors, []);
});

test('a non-streaming client that disconnects stops its generation; nothing is sent, the server goes on', { timeout: 30_000 }, async (t) => {
  const { context: ctx, server: srv, results, nextCall, errors } = await recordingServer(t);
  const controller = new AbortController();
  const started = nextCall();
  const pending = fetch(`${srv.url}/v1/completions`, {
    method: 'POST',
    body: JSON.stringify({ model: FIXTURE_ID, prompt: 'Tell me a long story.', max_tokens: 400, temperature: 0 }),
    signal: controller.signal,
  });
  await started;
  await new Promise((r) => setTimeout(r, 20)); // a few tokens in
  controller.abort();
  await assert.rejects(pending, (error: Error) => error.name === 'AbortError');
  await until(() => ctx.scheduler.stats.cancelled === 1, 'the server sees the disconnect');
  await ctx.scheduler.whenIdle();
  assert.equal(results.length, 1);
  const generated = results[0]![0]!.tokenIds.length;
  assert.ok(generated < 200, `the abandoned request stopped soon: ${generated} of 400 tokens generated`);
  const after = await fetch(`${srv.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: FIXTURE_ID, prompt: 'still there?', max_tokens: 2 }) });
  assert.equal(after.status, 200);
  assert.deepEqual(errors, []);
});

test('a full queue is a RateLimitError for the client', { timeout: 15_000 }, async (t) => {
  const fake = new FakeEngine();
  const busyContext = createServeContext({ engine: fake, limits: { queueCapacity: 1 } });
  const busy = await startServer({ context: busyContext, port: 0 });
  t.after(async () => {
    fake.release(); // also when an assertion failed or the test timed out
    await busy.close();
  });
  const c = new OpenAI({ baseURL: `${busy.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 5_000 });
  fake.block();
  const started = fake.nextCall();
  const running = c.completions.create({ model: 'fake-model', prompt: 'a', max_tokens: 2 });
  await started;
  const waiting = c.completions.create({ model: 'fake-model', prompt: 'b', max_tokens: 2 });
  for (let i = 0; i < 400 && busyContext.scheduler.waiting < 1; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(busyContext.scheduler.waiting, 1);
  await assert.rejects(c.completions.create({ model: 'fake-model', prompt: 'c', max_tokens: 2 }), OpenAI.RateLimitError);
  fake.release();
  assert.equal((await running).choices[0]!.text, 'aa');
  assert.equal((await waiting).choices[0]!.text, 'ba');
});

test('close() lets a stream in flight finish and does not wait for idle keep-alive connections', { timeout: 15_000 }, async (t) => {
  const fake = new FakeEngine();
  const stopping = await startServer({ context: createServeContext({ engine: fake }), port: 0 });
  t.after(async () => {
    fake.release();
    await stopping.close();
  });
  assert.equal((await fetch(`${stopping.url}/health`)).status, 200); // leaves an idle keep-alive connection
  fake.block();
  const started = fake.nextCall();
  const res = await fetch(`${stopping.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: 'fake-model', prompt: 'z', max_tokens: 3, stream: true }) });
  await started;
  const closed = stopping.close();
  const early = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open'), 100))]);
  assert.equal(early, 'still open', 'close() waits for the stream in flight');
  fake.release();
  const body = await res.text();
  assert.ok(body.endsWith('data: [DONE]\n\n'));
  const chunks = body.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)));
  assert.equal(chunks.map((c) => c.choices[0].text).join(''), 'zab');
  const t0 = performance.now();
  await closed;
  assert.ok(performance.now() - t0 < 1000, `close took ${performance.now() - t0} ms after the stream ended`);
});

test('refuses to listen beyond loopback without an API key', async () => {
  const fake = createServeContext({ engine: new FakeEngine() });
  // A server that starts anyway is closed at once, so a failure here cannot hang the run.
  const attempt = (host: string) => startServer({ context: fake, host, port: 0 }).then((s) => s.close().then(() => 'it listened'), (e: Error) => e.message);
  assert.match(await attempt('0.0.0.0'), /refusing to listen on 0\.0\.0\.0 without an API key/);
  assert.match(await attempt('::'), /without an API key/);
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.equal(isLoopbackHost(host), true, host);
  for (const host of ['0.0.0.0', '::', '192.168.1.2', '10.0.0.1', 'example.com', '128.0.0.1']) assert.equal(isLoopbackHost(host), false, host);
});
