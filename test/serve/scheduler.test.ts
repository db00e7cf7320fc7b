// The queue in front of the engine, on a fake engine that can be held: one generate() at a time,
// compatible requests combined into one call, seeded ones alone, 429 when the queue is full, and
// engine failures as 500s. Also selection over candidates with known answers and certainties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServeContext } from '../../src/serve/context.ts';
import { call, callJson, errorOf, FakeEngine, readEvents } from './helpers.ts';

const chatPath = '/v1/chat/completions';
const body = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'fake-model', messages: [{ role: 'user', content }], max_tokens: 3, ...extra });

test('a full queue answers 429 at once; the waiting requests are still served', { timeout: 10_000 }, async () => {
  const engine = new FakeEngine();
  const context = createServeContext({ engine, limits: { queueCapacity: 1 }, onError: () => {} });
  engine.block();
  const started = engine.nextCall();
  const a = callJson(context, { path: chatPath, body: body('A') });
  await started; // A runs (it left the queue)
  const b = callJson(context, { path: chatPath, body: body('B') }); // B waits: the queue is full
  const rejected = await callJson(context, { path: chatPath, body: body('C') });
  const error = errorOf(rejected, 429);
  assert.equal(error.type, 'rate_limit_error');
  assert.equal(error.code, 'rate_limit_exceeded');
  assert.equal(rejected.headers['retry-after'], '1');
  // A stream is refused the same way, before any event.
  const stream = await call(context, { path: chatPath, body: body('D', { stream: true }) });
  assert.equal(stream.status, 429);
  assert.ok(!('events' in stream));
  assert.equal(context.scheduler.waiting, 1);
  engine.release();
  const [ra, rb] = await Promise.all([a, b]);
  assert.equal(ra.status, 200);
  assert.equal(rb.status, 200);
  assert.equal(ra.body.choices[0].message.content, 'Aab', 'the fake text starts with the last prompt character');
  assert.equal(rb.body.choices[0].message.content, 'Bab');
  assert.deepEqual(engine.calls.map((c) => c.prompts.length), [1, 1]);
  const after = await callJson(context, { path: chatPath, body: body('E') });
  assert.equal(after.status, 200);
});

test('waiting requests with the same sampling settings share one generate() call; seeded and different ones do not', async () => {
  const engine = new FakeEngine();
  const context = createServeContext({ engine, limits: { queueCapacity: 10 } });
  engine.block();
  const started = engine.nextCall();
  const first = callJson(context, { path: chatPath, body: body('first') });
  await started;
  const same1 = callJson(context, { path: chatPath, body: body('s1', { n: 2 }) });
  const seeded = callJson(context, { path: chatPath, body: body('seeded', { seed: 4 }) });
  const same2 = callJson(context, { path: '/v1/completions', body: { model: 'fake-model', prompt: 'completion-2', max_tokens: 3 } });
  const hotter = callJson(context, { path: chatPath, body: body('hot', { temperature: 0.5 }) });
  const same3 = callJson(context, { path: chatPath, body: body('s3', { best_of: 3 }) });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(context.scheduler.waiting, 5);
  engine.release();
  const [r0, r1, rSeeded, r2, rHot, r3] = await Promise.all([first, same1, seeded, same2, hotter, same3]);
  for (const r of [r0, r1, rSeeded, r2, rHot, r3]) assert.equal(r.status, 200, JSON.stringify(r.body));
  // Calls: first alone; then s1 (2 rows) + completion-2 (1) + s3 (3) together; then seeded; then hot.
  const lastChars = engine.calls.map((c) => c.prompts.map((p) => String.fromCodePoint(p.at(-1)!)).join(''));
  assert.deepEqual(engine.calls.map((c) => c.prompts.length), [1, 6, 1, 1]);
  assert.deepEqual(engine.calls.map((c) => [c.seed, c.temperature]), [[undefined, 1], [undefined, 1], [4, 1], [undefined, 0.5]]);
  assert.deepEqual(lastChars, ['t', '112333', 'd', 't']);
  // Each request got its own rows back: the fake text starts with the prompt's last character
  // and then depends on the row.
  assert.deepEqual(r1.body.choices.map((c: any) => c.message.content), ['1ab', '1bc']);
  assert.equal(r2.body.choices[0].text, '2cd');
  assert.equal(r3.body.choices.length, 1);
  assert.equal(r3.body.usage.completion_tokens, 9);
  // best_of ranks by self-certainty: rows 3, 4, 5 have certainties 4, 5, 6; the last is chosen.
  assert.equal(r3.body.choices[0].message.content, '3fg');
  assert.equal(r3.body.choices[0].self_certainty, 6);
  assert.deepEqual(context.scheduler.stats, { batches: 4, requests: 6, largestBatch: 3, cancelled: 0 });
});

test('maxBatchSequences caps the rows combined into one call', async () => {
  const engine = new FakeEngine();
  const context = createServeContext({ engine, limits: { maxBatchSequences: 3, queueCapacity: 10 } });
  engine.block();
  const started = engine.nextCall();
  const all = [callJson(context, { path: chatPath, body: body('x') })];
  await started;
  for (const n of [2, 2, 1]) all.push(callJson(context, { path: chatPath, body: body('y', { n }) }));
  await new Promise((resolve) => setImmediate(resolve));
  engine.release();
  for (const r of await Promise.all(all)) assert.equal(r.status, 200);
  assert.deepEqual(engine.calls.map((c) => c.prompts.length), [1, 3, 2]);
});

test('requests arriving in the same turn batch without waiting for a running one', async () => {
  const engine = new FakeEngine();
  const context = createServeContext({ engine });
  const results = await Promise.all([1, 2, 3, 4].map((i) => callJson(context, { path: chatPath, body: body(`q${i}`) })));
  assert.ok(results.every((r) => r.status === 200));
  assert.deepEqual(engine.calls.map((c) => c.prompts.length), [4]);
  assert.deepEqual(results.map((r) => r.body.choices[0].message.content), ['1ab', '2bc', '3cd', '4de']);
});

test('an engine failure is a 500 server_error for every request of the batch, then the server goes on', async () => {
  const engine = new FakeEngine();
  const errors: unknown[] = [];
  const context = createServeContext({ engine, onError: (e) => errors.push(e) });
  engine.fail = true;
  const results = await Promise.all([callJson(context, { path: chatPath, body: body('a') }), callJson(context, { path: chatPath, body: body('b') })]);
  for (const r of results) {
    const error = errorOf(r, 500);
    assert.equal(error.type, 'server_error');
    assert.doesNotMatch(error.message, /exploded/, 'internal messages are not leaked');
  }
  assert.equal(errors.length, 1);
  const events = await readEvents(await call(context, { path: chatPath, body: body('s', { stream: true }) }));
  assert.equal(events.at(-1).error.type, 'server_error');
  assert.ok(!events.includes('[DONE]'));
  engine.fail = false;
  assert.equal((await callJson(context, { path: chatPath, body: body('c') })).status, 200);
});

test('selection votes over extracted answers; the chosen choice comes first, then by self-certainty', async () => {
  const engine = new FakeEngine();
  const context = createServeContext({ engine });
  engine.texts = ['so \\boxed{2}', 'thus \\boxed{2}', 'I say \\boxed{3}', 'no idea'];
  engine.certainties = [1, 2, 5, 4];
  const ask = (selection: unknown, n = 1) => callJson(context, { path: '/v1/completions', body: { model: 'fake-model', prompt: 'q', max_tokens: 20, n, best_of: 4, selection } });
  const majority = await ask({ method: 'majority' });
  assert.equal(majority.body.choices[0].text, 'thus \\boxed{2}'); // the answer 2 wins; its most certain member
  assert.equal(majority.body.choices[0].answer, '2');
  assert.deepEqual(majority.body.selection, { method: 'majority', p: null, answer: '2', candidates: 4, votes: [{ answer: '2', votes: 2, count: 2 }, { answer: '3', votes: 1, count: 1 }] });
  const certain = await ask({ method: 'self-certainty' }, 3);
  assert.deepEqual(certain.body.choices.map((c: any) => c.text), ['I say \\boxed{3}', 'no idea', 'thus \\boxed{2}']);
  assert.deepEqual(certain.body.choices.map((c: any) => c.self_certainty), [5, 4, 2]);
  // Borda with a small power is near majority; with a large one the most certain answer wins.
  assert.equal((await ask({ method: 'borda', p: 0 })).body.selection.answer, '2');
  const borda = await ask({ method: 'borda', p: 8 });
  assert.equal(borda.body.selection.answer, '3');
  assert.equal(borda.body.selection.p, 8);
  assert.equal((await ask({ method: 'weighted' })).body.selection.answer, '3');
  // Without selection, best_of ranks by self-certainty alone.
  const ranked = await callJson(context, { path: '/v1/completions', body: { model: 'fake-model', prompt: 'q', max_tokens: 20, n: 2, best_of: 4 } });
  assert.deepEqual(ranked.body.choices.map((c: any) => c.text), ['I say \\boxed{3}', 'no idea']);
  assert.ok(!('selection' in ranked.body) && !('answer' in ranked.body.choices[0]));
});

test('streaming through the fake engine: stop-string prefixes are held back, the text adds up', async () => {
  const engine = new FakeEngine();
  const context = createServeContext({ engine });
  engine.texts = ['abXYcd'];
  const res = await callJson(context, { path: '/v1/completions', body: { model: 'fake-model', prompt: 'q', max_tokens: 6, stop: ['XYZ'] } });
  assert.equal(res.body.choices[0].text, 'abXYcd');
  const events = await readEvents(await call(context, { path: '/v1/completions', body: { model: 'fake-model', prompt: 'q', max_tokens: 6, stop: ['XYZ'], stream: true } }));
  const texts = events.slice(0, -1).map((e: any) => e.choices[0].text);
  // 'X' and 'XY' could start "XYZ": they wait until 'c' shows they do not.
  assert.deepEqual(texts, ['a', 'b', 'XYc', 'd', '']); // the last chunk carries finish_reason
  // A sequence that ends on a stop string's start: the held text is sent when it ends.
  engine.texts = ['abX'];
  const ending = await readEvents(await call(context, { path: '/v1/completions', body: { model: 'fake-model', prompt: 'q', max_tokens: 6, stop: ['XYZ'], stream: true } }));
  assert.deepEqual(ending.slice(0, -1).map((e: any) => [e.choices[0].text, e.choices[0].finish_reason]), [['a', null], ['b', null], ['X', null], ['', 'stop']]);
});

test('a waiting request whose client goes away leaves the queue at once and never runs', { timeout: 10_000 }, async () => {
  const engine = new FakeEngine();
  const errors: unknown[] = [];
  const context = createServeContext({ engine, limits: { queueCapacity: 2 }, onError: (e) => errors.push(e) });
  engine.block();
  const started = engine.nextCall();
  const a = callJson(context, { path: chatPath, body: body('A') });
  await started;
  const goneJson = new AbortController();
  const goneStream = new AbortController();
  const b = callJson(context, { path: chatPath, body: body('B'), signal: goneJson.signal });
  const c = call(context, { path: '/v1/completions', body: { model: 'fake-model', prompt: 'C', max_tokens: 3, stream: true }, signal: goneStream.signal });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(context.scheduler.waiting, 2);
  goneJson.abort();
  goneStream.abort();
  assert.equal(context.scheduler.waiting, 0, 'both left the queue at once');
  // The non-streamed one answers 499 client_closed_request (which the HTTP adapter does not send);
  // the stream just ends, with no error event. All while A still runs.
  const error = errorOf(await b, 499);
  assert.equal(error.code, 'client_closed_request');
  assert.deepEqual(await readEvents(await c), []);
  // Their places in the queue are free again.
  const d = callJson(context, { path: chatPath, body: body('D') });
  const aborted = callJson(context, { path: chatPath, body: body('E'), signal: AbortSignal.abort() });
  assert.equal(errorOf(await aborted, 499).code, 'client_closed_request', 'a request already cancelled is not queued');
  engine.release();
  assert.equal((await a).body.choices[0].message.content, 'Aab');
  assert.equal((await d).body.choices[0].message.content, 'Dab');
  const lastChars = engine.calls.map((call) => call.prompts.map((p) => String.fromCodePoint(p.at(-1)!)).join(''));
  assert.deepEqual(lastChars, ['A', 'D'], 'B, C and E never reached the engine');
  assert.equal(context.scheduler.stats.cancelled, 3);
  assert.deepEqual(errors, [], 'a cancellation is not a server error');
});

test('a running request whose client goes away has its rows cancelled; the rest of its batch is unaffected', { timeout: 10_000 }, async () => {
  const engine = new FakeEngine();
  const context = createServeContext({ engine, limits: { queueCapacity: 10 } });
  engine.block();
  const started = engine.nextCall();
  const gone = new AbortController();
  const a = callJson(context, { path: chatPath, body: body('A', { n: 2 }), signal: gone.signal });
  const b = callJson(context, { path: chatPath, body: body('B') });
  await started; // A and B run together, three rows
  assert.deepEqual(engine.calls.map((c) => c.prompts.length), [3]);
  const isCancelled = engine.calls[0]!.isCancelled!;
  assert.deepEqual([0, 1, 2].map(isCancelled), [false, false, false]);
  gone.abort();
  assert.deepEqual([0, 1, 2].map(isCancelled), [true, true, false], "only A's rows are cancelled");
  assert.equal(errorOf(await a, 499).code, 'client_closed_request', 'answered at once, while the batch still runs');
  engine.release();
  const rb = await b;
  assert.equal(rb.body.choices[0].message.content, 'Bcd'); // row 2 of the batch, in full
  assert.equal(rb.body.usage.completion_tokens, 3);
  assert.equal(context.scheduler.stats.cancelled, 1);
});
