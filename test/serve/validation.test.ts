// Request validation, routing and authentication of the pure handler, on a fake engine: every bad
// input is an OpenAI-shaped error with the right status, type, param and code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServeContext } from '../../src/serve/context.ts';
import { callJson, errorOf, FakeEngine } from './helpers.ts';

const engine = new FakeEngine();
const context = createServeContext({ engine, limits: { maxN: 4, maxBestOf: 6, maxTokens: 16, maxPromptTokens: 60 } });
const messages = [{ role: 'user', content: 'hi' }];
const chatBody = { model: 'fake-model', messages, max_tokens: 3 };
const completionBody = { model: 'fake-model', prompt: 'hi', max_tokens: 3 };

type Case = [name: string, path: string, body: unknown, status: number, param: string | null, code: string | null, message?: RegExp];
const chatPath = '/v1/chat/completions';
const completionPath = '/v1/completions';

const cases: Case[] = [
  ['missing messages', chatPath, { model: 'fake-model' }, 400, 'messages', 'missing_required_parameter', /Missing required parameter: 'messages'/],
  ['messages not an array', chatPath, { ...chatBody, messages: 'hi' }, 400, 'messages', 'invalid_type', /expected an array, but got a string/],
  ['empty messages', chatPath, { ...chatBody, messages: [] }, 400, 'messages', 'empty_array'],
  ['a message without a role', chatPath, { ...chatBody, messages: [{ content: 'x' }] }, 400, 'messages[0].role', 'missing_required_parameter'],
  ['an unknown role', chatPath, { ...chatBody, messages: [{ role: 'robot', content: 'x' }] }, 400, 'messages[0].role', 'invalid_value'],
  ['content of the wrong type', chatPath, { ...chatBody, messages: [{ role: 'user', content: 5 }] }, 400, 'messages[0].content', 'invalid_type'],
  ['an image content part', chatPath, { ...chatBody, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }, 400, 'messages[0].content[0].type', 'invalid_value'],
  ['missing model', chatPath, { messages }, 400, 'model', 'missing_required_parameter'],
  ['model of the wrong type', chatPath, { ...chatBody, model: 7 }, 400, 'model', 'invalid_type'],
  ['temperature as a string', chatPath, { ...chatBody, temperature: 'hot' }, 400, 'temperature', 'invalid_type', /expected a number, but got a string/],
  ['temperature above 2', chatPath, { ...chatBody, temperature: 2.5 }, 400, 'temperature', 'decimal_above_max_value'],
  ['top_p above 1', completionPath, { ...completionBody, top_p: 1.5 }, 400, 'top_p', 'decimal_above_max_value'],
  ['n as a decimal', chatPath, { ...chatBody, n: 1.5 }, 400, 'n', 'invalid_type'],
  ['n above the limit', chatPath, { ...chatBody, n: 5 }, 400, 'n', 'integer_above_max_value', /Expected a value <= 4, but got 5/],
  ['n below 1', completionPath, { ...completionBody, n: 0 }, 400, 'n', 'integer_below_min_value'],
  ['best_of below n', completionPath, { ...completionBody, n: 3, best_of: 2 }, 400, 'best_of', 'invalid_value', /greater than or equal to n/],
  ['best_of above the limit', chatPath, { ...chatBody, best_of: 7 }, 400, 'best_of', 'integer_above_max_value'],
  ['max_tokens above the limit', completionPath, { ...completionBody, max_tokens: 17 }, 400, 'max_tokens', 'integer_above_max_value'],
  ['max_completion_tokens above the limit', chatPath, { ...chatBody, max_completion_tokens: 100 }, 400, 'max_completion_tokens', 'integer_above_max_value'],
  ['max_tokens as a string', chatPath, { ...chatBody, max_tokens: '3' }, 400, 'max_tokens', 'invalid_type'],
  ['stop with five strings', completionPath, { ...completionBody, stop: ['a', 'b', 'c', 'd', 'e'] }, 400, 'stop', 'array_above_max_length'],
  ['stop of the wrong type', completionPath, { ...completionBody, stop: 5 }, 400, 'stop', 'invalid_type'],
  ['a stop item of the wrong type', completionPath, { ...completionBody, stop: ['a', 3] }, 400, 'stop[1]', 'invalid_type'],
  ['a negative seed', chatPath, { ...chatBody, seed: -1 }, 400, 'seed', 'integer_below_min_value'],
  ['stream as a string', chatPath, { ...chatBody, stream: 'yes' }, 400, 'stream', 'invalid_type'],
  ['stream with best_of > n', chatPath, { ...chatBody, stream: true, n: 1, best_of: 2 }, 400, 'best_of', 'invalid_value', /Cannot stream/],
  ['stream with selection', chatPath, { ...chatBody, stream: true, selection: { method: 'borda' } }, 400, 'selection', 'invalid_value'],
  ['stream_options without stream', chatPath, { ...chatBody, stream_options: { include_usage: true } }, 400, 'stream_options', 'invalid_value'],
  ['an unknown selection method', chatPath, { ...chatBody, selection: { method: 'vibes' } }, 400, 'selection.method', 'invalid_value', /Expected one of self-certainty, borda/],
  ['selection without a method', completionPath, { ...completionBody, selection: {} }, 400, 'selection.method', 'missing_required_parameter'],
  ['selection of the wrong type', completionPath, { ...completionBody, selection: 'borda' }, 400, 'selection', 'invalid_type'],
  ['a negative Borda power', chatPath, { ...chatBody, selection: { method: 'borda', p: -1 } }, 400, 'selection.p', 'decimal_below_min_value'],
  ['p with a rule that has none', chatPath, { ...chatBody, selection: { method: 'majority', p: 1 } }, 400, 'selection.p', 'invalid_value'],
  ['missing prompt', completionPath, { model: 'fake-model' }, 400, 'prompt', 'missing_required_parameter'],
  ['an empty prompt array', completionPath, { ...completionBody, prompt: [] }, 400, 'prompt', 'empty_array'],
  ['a prompt array item of the wrong type', completionPath, { ...completionBody, prompt: ['a', 5] }, 400, 'prompt[1]', 'invalid_type'],
  ['a decimal token id', completionPath, { ...completionBody, prompt: [[1, 2.5]] }, 400, 'prompt[0][1]', 'invalid_type'],
  ['a negative token id', completionPath, { ...completionBody, prompt: [104, -1] }, 400, 'prompt[1]', 'integer_below_min_value'],
  ['a token id outside the vocabulary', completionPath, { ...completionBody, prompt: [104, 0x110000] }, 400, 'prompt[1]', 'integer_above_max_value', /outside this model's vocabulary of 1114112 tokens/],
  ['more prompts x best_of than one request may generate', completionPath, { ...completionBody, prompt: Array.from({ length: 33 }, () => 'a'), n: 2 }, 400, 'prompt', 'array_above_max_length', /33 prompts x 2 candidates/],
  ['selection with several prompts', completionPath, { ...completionBody, prompt: ['a', 'b'], best_of: 2, selection: { method: 'majority' } }, 400, 'selection', 'invalid_value'],
  ['an empty prompt among several', completionPath, { ...completionBody, prompt: ['a', ''] }, 400, 'prompt[1]', 'invalid_value'],
  ['an empty prompt', completionPath, { ...completionBody, prompt: '' }, 400, 'prompt', 'invalid_value'],
  ['a prompt beyond maxPromptTokens', completionPath, { ...completionBody, prompt: 'x'.repeat(61) }, 400, 'prompt', 'context_length_exceeded'],
  ['prompt + max_tokens beyond the context', completionPath, { ...completionBody, prompt: 'x'.repeat(50), max_tokens: 16 }, 400, 'prompt', 'context_length_exceeded', /maximum context length is 64 tokens.*66 tokens \(50 in the prompt, 16 in the completion\)/],
  ['chat logprobs not a boolean', chatPath, { ...chatBody, logprobs: 1 }, 400, 'logprobs', 'invalid_type'],
  ['top_logprobs above 20', chatPath, { ...chatBody, logprobs: true, top_logprobs: 21 }, 400, 'top_logprobs', 'integer_above_max_value', /Expected a value <= 20, but got 21/],
  ['top_logprobs without logprobs', chatPath, { ...chatBody, top_logprobs: 2 }, 400, 'top_logprobs', 'invalid_value', /needs 'logprobs' to be true/],
  ['legacy logprobs above 5', completionPath, { ...completionBody, logprobs: 6 }, 400, 'logprobs', 'integer_above_max_value', /Expected a value <= 5, but got 6/],
  ['legacy logprobs as a boolean', completionPath, { ...completionBody, logprobs: true }, 400, 'logprobs', 'invalid_type'],
  ['tools', chatPath, { ...chatBody, tools: [{ type: 'function' }] }, 400, 'tools', 'unsupported_parameter'],
  ['a JSON response format', chatPath, { ...chatBody, response_format: { type: 'json_object' } }, 400, 'response_format.type', 'unsupported_parameter'],
  ['a presence penalty above 2', chatPath, { ...chatBody, presence_penalty: 2.5 }, 400, 'presence_penalty', 'decimal_above_max_value'],
  ['a frequency penalty below -2', completionPath, { ...completionBody, frequency_penalty: -2.5 }, 400, 'frequency_penalty', 'decimal_below_min_value'],
  ['echo as a string', completionPath, { ...completionBody, echo: 'yes' }, 400, 'echo', 'invalid_type'],
  ['max_tokens 0 without echo', completionPath, { ...completionBody, max_tokens: 0 }, 400, 'max_tokens', 'integer_below_min_value', /unless 'echo' is true/],
  ['max_tokens 0 on chat', chatPath, { ...chatBody, max_tokens: 0 }, 400, 'max_tokens', 'integer_below_min_value'],
  ['max_tokens 0 streamed', completionPath, { ...completionBody, max_tokens: 0, echo: true, stream: true }, 400, 'max_tokens', 'invalid_value'],
  ['a body that is an array', chatPath, [chatBody], 400, null, 'invalid_body'],
  ['no body', chatPath, undefined, 400, null, 'invalid_body'],
  ['invalid JSON text', chatPath, '{"model": "fake-model", ', 400, null, 'invalid_json', /could not parse the JSON body/],
  ['an unknown model', chatPath, { ...chatBody, model: 'gpt-4o' }, 404, 'model', 'model_not_found', /The model `gpt-4o` does not exist/],
];

for (const [name, path, body, status, param, code, message] of cases) {
  test(`400s: ${name}`, async () => {
    const calls = engine.calls.length;
    const error = errorOf(await callJson(context, { path, body }), status);
    assert.equal(error.type, 'invalid_request_error');
    assert.equal(error.param, param);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    assert.equal(engine.calls.length, calls, 'a rejected request must not reach the engine');
  });
}

test('the valid counterparts of those requests succeed; unknown fields and nulls are ignored', async () => {
  const ok = [
    [chatPath, { ...chatBody, n: 4, best_of: 6, temperature: 0, top_p: 0, seed: 0, stop: 'x', presence_penalty: 0, logprobs: false, user: 'u', some_future_field: { a: 1 }, max_tokens: null }],
    [chatPath, { ...chatBody, messages: [{ role: 'developer', content: 'be terse' }, { role: 'user', content: [{ type: 'text', text: 'hi' }] }, { role: 'assistant', content: null }] }],
    [chatPath, JSON.stringify(chatBody)],
    [completionPath, { ...completionBody, prompt: ['hi'], stop: ['a', 'b', 'c', 'd'], max_tokens: 16, best_of: 2, selection: { method: 'majority' } }],
  ] as const;
  for (const [path, body] of ok) {
    const res = await callJson(context, { path, body });
    assert.equal(res.status, 200, `${path} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
  }
  // top_p 0 means the most likely token only; the engine gets a positive p.
  assert.ok(engine.calls.some((c) => c.topP > 0 && c.topP < 1e-3 && c.temperature === 0));
  // developer becomes system for the template; content parts are joined.
  const developer = engine.calls.find((c) => engine.decode(c.prompts[0]!).startsWith('<system>be terse<user>hi<assistant>'));
  assert.ok(developer, 'the chat prompt should be built from the normalized messages');
});

test('unknown paths are 404, wrong methods 405 with Allow; /health needs no method body', async () => {
  const unknown = errorOf(await callJson(context, { method: 'GET', path: '/v1/engines' }), 404);
  assert.equal(unknown.code, 'unknown_url');
  const wrong = await callJson(context, { method: 'GET', path: '/v1/chat/completions' });
  assert.equal(errorOf(wrong, 405).code, 'method_not_allowed');
  assert.equal(wrong.headers.allow, 'POST');
  assert.equal(errorOf(await callJson(context, { method: 'DELETE', path: '/v1/models' }), 405).type, 'invalid_request_error');
  assert.equal((await callJson(context, { method: 'GET', path: '/health?verbose=1' })).status, 200);
  assert.equal((await callJson(context, { method: 'GET', path: '/v1/models/' })).status, 200);
});

test('a model without a chat template gets a 400 on chat (fake engine)', async () => {
  const noTemplate = new FakeEngine();
  noTemplate.hasChatTemplate = false;
  const error = errorOf(await callJson(createServeContext({ engine: noTemplate }), { path: chatPath, body: chatBody }), 400);
  assert.equal(error.code, 'chat_template_missing');
  assert.equal(noTemplate.calls.length, 0);
});

test('with an API key every /v1 route needs the bearer token; /health does not', async () => {
  const secured = createServeContext({ engine: new FakeEngine(), apiKey: 'sk-test-123' });
  const none = errorOf(await callJson(secured, { method: 'GET', path: '/v1/models' }), 401);
  assert.equal(none.type, 'authentication_error');
  assert.equal(none.code, 'invalid_api_key');
  assert.match(none.message, /didn't provide an API key/);
  const wrong = errorOf(await callJson(secured, { path: chatPath, body: chatBody, headers: { authorization: 'Bearer sk-test-124' } }), 401);
  assert.match(wrong.message, /Incorrect API key/);
  errorOf(await callJson(secured, { path: chatPath, body: chatBody, headers: { authorization: 'sk-test-123' } }), 401);
  errorOf(await callJson(secured, { method: 'GET', path: '/v1/nowhere' }), 401); // before routing: no probing without the key
  assert.equal((await callJson(secured, { path: chatPath, body: chatBody, headers: { Authorization: 'Bearer sk-test-123' } })).status, 200);
  assert.equal((await callJson(secured, { method: 'GET', path: '/v1/models', headers: { authorization: 'bearer sk-test-123' } })).status, 200);
  assert.equal((await callJson(secured, { method: 'GET', path: '/health' })).status, 200);
  assert.throws(() => createServeContext({ engine: new FakeEngine(), apiKey: ' ' }), /must not be empty/);
});

test('limits are checked when the context is made', () => {
  assert.throws(() => createServeContext({ engine: new FakeEngine(), limits: { maxN: 8, maxBestOf: 4 } }), /maxBestOf \(4\) must be at least maxN \(8\)/);
  assert.throws(() => createServeContext({ engine: new FakeEngine(), limits: { queueCapacity: 0 } }), /queueCapacity must be an integer >= 1/);
  assert.throws(() => createServeContext({ engine: new FakeEngine(), limits: { maxPromptTokens: 64 } }), /at most 63/);
});
