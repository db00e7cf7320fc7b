// What a hostile client can put in a body, through the pure handler on a fake engine: every numeric
// field with negative, out-of-range, non-finite, fractional and mistyped values; bytes that are not
// UTF-8; lone surrogates; nesting a million levels deep; a prompt too big to be worth tokenizing.
// Each is a 4xx naming what is wrong, and none reaches the engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServeContext } from '../../src/serve/context.ts';
import { invalidUtf8At, MAX_JSON_DEPTH } from '../../src/serve/body.ts';
import { callJson, errorOf, FakeEngine } from './helpers.ts';

const engine = new FakeEngine();
engine.contextLength = 512;
const errors: unknown[] = [];
const context = createServeContext({ engine, limits: { maxN: 4, maxBestOf: 6, maxTokens: 16, maxPromptTokens: 60 }, onError: (e) => errors.push(e) });
const chatPath = '/v1/chat/completions';
const completionPath = '/v1/completions';
const chatText = (extra: string) => `{"model":"fake-model","messages":[{"role":"user","content":"hi"}],"max_tokens":3${extra}}`;
const completionText = (extra: string) => `{"model":"fake-model","prompt":"hi","max_tokens":3${extra}}`;

async function refused(path: string, body: unknown, status = 400) {
  const calls = engine.calls.length;
  const error = errorOf(await callJson(context, { path, body }), status);
  assert.equal(engine.calls.length, calls, 'a refused request must not reach the engine');
  return error;
}

// Raw JSON spellings: 1e999 parses as Infinity, 2^60 as an integer no double holds exactly.
const integerBad = ['-1', '-1e999', '1e999', '1152921504606846976', '0.5', '"1"', 'true', '[1]', '{}'];
const numericFields: [field: string, bad: string[], paths: string[]][] = [
  ['n', integerBad, [chatPath, completionPath]],
  ['best_of', integerBad, [chatPath, completionPath]],
  ['max_tokens', integerBad, [chatPath, completionPath]],
  ['max_completion_tokens', integerBad, [chatPath]],
  ['seed', integerBad, [chatPath, completionPath]],
  ['temperature', ['-1', '-0.001', '2.0001', '-1e999', '1e999', '"1"', 'false', '[]'], [chatPath, completionPath]],
  ['top_p', ['-0.1', '1.5', '-1e999', '1e999', '"0.5"', '{}'], [chatPath, completionPath]],
  ['frequency_penalty', ['-3', '3', '-2.001', '2.001', '-1e999', '1e999', '"0"'], [chatPath, completionPath]],
  ['presence_penalty', ['-3', '3', '-2.001', '2.001', '-1e999', '1e999', '"0"'], [chatPath, completionPath]],
  ['logprobs', ['-1', '1e999', '6', '0.5', '"1"', 'true'], [completionPath]],
  ['top_logprobs', ['-1', '21', '1e999', '0.5', '"1"'], [chatPath]],
];

for (const [field, bad, paths] of numericFields) {
  test(`every bad value of ${field} is a 400 naming ${field}`, async () => {
    for (const path of paths) {
      for (const value of bad) {
        const text = (path === chatPath ? chatText : completionText)(`,"${field}":${value}`);
        const error = await refused(path, text);
        assert.equal(error.param, field, `${field}=${value} on ${path}: ${error.message}`);
        assert.match(error.message, new RegExp(`'${field}'`), `${field}=${value}: the message names the field`);
        assert.equal(error.type, 'invalid_request_error');
      }
    }
  });
}

test('selection.p and stream_options.include_usage: bad values are 400s naming the nested field', async () => {
  for (const value of ['-1', '-1e999', '1e999', '"1"', 'true']) {
    const error = await refused(completionPath, completionText(`,"best_of":3,"selection":{"method":"borda","p":${value}}`));
    assert.equal(error.param, 'selection.p', `p=${value}`);
  }
  for (const value of ['1', '"yes"', '-1']) {
    const error = await refused(chatPath, chatText(`,"stream":true,"stream_options":{"include_usage":${value}}`));
    assert.equal(error.param, 'stream_options.include_usage', `include_usage=${value}`);
  }
});

test('out-of-range messages say which bound was crossed, with the number that was sent', async () => {
  const huge = await refused(completionPath, completionText(',"seed":1e999'));
  assert.equal(huge.code, 'integer_above_max_value');
  assert.match(huge.message, /Expected a value <= 9007199254740991, but got Infinity/);
  const unsafe = await refused(completionPath, completionText(',"seed":1152921504606846976'));
  assert.equal(unsafe.code, 'integer_above_max_value');
  assert.equal((await refused(completionPath, completionText(',"temperature":-1e999'))).code, 'decimal_below_min_value');
  assert.equal((await refused(completionPath, completionText(',"n":0.5'))).code, 'invalid_type');
  // NaN and Infinity are not JSON at all.
  for (const literal of ['NaN', 'Infinity', '-Infinity']) {
    const error = await refused(completionPath, completionText(`,"temperature":${literal}`));
    assert.equal(error.code, 'invalid_json', literal);
  }
  // A parsed body that carries NaN anyway (a caller of the pure handler) is refused, not passed on.
  const nan = await refused(completionPath, { model: 'fake-model', prompt: 'hi', temperature: NaN });
  assert.equal(nan.code, 'invalid_type');
  assert.match(nan.message, /got NaN instead/);
  assert.equal((await refused(completionPath, { model: 'fake-model', prompt: 'hi', seed: NaN })).param, 'seed');
});

test('the edges of every numeric field are accepted', async () => {
  const edge = completionText(',"n":1,"best_of":6,"max_tokens":16,"seed":9007199254740991,"temperature":2,"top_p":0,"frequency_penalty":0,"presence_penalty":-0,"logprobs":0');
  assert.equal((await callJson(context, { path: completionPath, body: edge })).status, 200);
  assert.equal((await callJson(context, { path: completionPath, body: completionText(',"temperature":-0,"seed":0,"n":4') })).status, 200);
  assert.equal((await callJson(context, { path: completionPath, body: completionText(',"frequency_penalty":-2,"presence_penalty":2,"logprobs":5,"echo":true') })).status, 200);
  assert.equal((await callJson(context, { path: chatPath, body: chatText(',"frequency_penalty":2,"presence_penalty":-2,"logprobs":true,"top_logprobs":20') })).status, 200);
  assert.equal((await callJson(context, { path: chatPath, body: chatText(',"logprobs":true,"top_logprobs":0') })).status, 200);
});

test('a body that is not UTF-8 is a 400 naming the first bad byte; a BOM is accepted', async () => {
  const json = Buffer.from(completionText(''));
  const at = json.indexOf('hi');
  const cases: [name: string, bytes: number[]][] = [
    ['a stray continuation byte', [0x80]],
    ['0xff', [0xff]],
    ['an overlong slash', [0xc0, 0xaf]],
    ['a UTF-8 surrogate', [0xed, 0xa0, 0x80]],
    ['beyond U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a cut 3-byte character', [0xe2, 0x82]],
  ];
  for (const [name, bytes] of cases) {
    const body = Buffer.concat([json.subarray(0, at), Buffer.from(bytes), json.subarray(at)]);
    const error = await refused(completionPath, body);
    assert.equal(error.code, 'invalid_encoding', name);
    assert.match(error.message, new RegExp(`not valid UTF-8: byte ${at} \\(0x${bytes[0]!.toString(16)}\\)`), name);
  }
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json]);
  assert.equal((await callJson(context, { path: completionPath, body: bom })).status, 200);
  const multibyte = Buffer.from(completionText('').replace('hi', 'h\u00e9\u4e2d\u{1F600}'));
  assert.equal((await callJson(context, { path: completionPath, body: multibyte })).status, 200);
});

test('invalidUtf8At agrees with a fatal TextDecoder on random bytes', () => {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let state = 12345;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const interesting = [0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x9f, 0x90, 0x8f];
  let invalid = 0;
  for (let trial = 0; trial < 3000; trial++) {
    const bytes = Uint8Array.from({ length: 1 + Math.floor(random() * 6) }, () => (random() < 0.7 ? interesting[Math.floor(random() * interesting.length)]! : Math.floor(random() * 256)));
    let valid = true;
    try {
      decoder.decode(bytes);
    } catch {
      valid = false;
    }
    const at = invalidUtf8At(bytes);
    assert.equal(at === -1, valid, `bytes ${Buffer.from(bytes).toString('hex')}`);
    if (!valid) {
      invalid++;
      // Everything before the reported byte is valid, and decoding from it is not.
      decoder.decode(bytes.subarray(0, at));
      assert.throws(() => decoder.decode(bytes.subarray(at)), `bytes ${Buffer.from(bytes).toString('hex')} at ${at}`);
    }
  }
  assert.ok(invalid > 500 && invalid < 2900, `a mix of valid and invalid inputs (${invalid} invalid)`);
});

test('lone surrogates in any text field are a 400 naming the field; real pairs pass', async () => {
  const cases: [name: string, path: string, text: string, param: string][] = [
    ['prompt', completionPath, '{"model":"fake-model","prompt":"a\\ud800b","max_tokens":3}', 'prompt'],
    ['prompt[0]', completionPath, '{"model":"fake-model","prompt":["\\udc00"],"max_tokens":3}', 'prompt[0]'],
    ['content', chatPath, '{"model":"fake-model","messages":[{"role":"user","content":"x\\ud83d"}],"max_tokens":3}', 'messages[0].content'],
    ['a content part', chatPath, '{"model":"fake-model","messages":[{"role":"user","content":[{"type":"text","text":"\\ude00"}]}],"max_tokens":3}', 'messages[0].content[0].text'],
    ['stop', completionPath, completionText(',"stop":"\\ud800"'), 'stop'],
    ['stop[1]', completionPath, completionText(',"stop":["a","\\udfff"]'), 'stop[1]'],
  ];
  for (const [name, path, text, param] of cases) {
    const error = await refused(path, text);
    assert.equal(error.code, 'invalid_unicode', name);
    assert.equal(error.param, param, name);
    assert.match(error.message, /lone UTF-16 surrogate \(\\ud[89a-f][0-9a-f]{2} at index \d+\)/, name);
  }
  const pair = '{"model":"fake-model","prompt":"smile \\ud83d\\ude00","max_tokens":3}';
  assert.equal((await callJson(context, { path: completionPath, body: pair })).status, 200);
});

test(`nesting deeper than ${MAX_JSON_DEPTH} levels is a 400, found without parsing; brackets in strings do not count`, async () => {
  const nested = (depth: number) => completionText(`,"extra":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}`);
  assert.equal((await callJson(context, { path: completionPath, body: nested(MAX_JSON_DEPTH) })).status, 200, 'exactly the limit');
  const error = await refused(completionPath, nested(MAX_JSON_DEPTH + 1));
  assert.equal(error.code, 'json_too_deep');
  const t0 = performance.now();
  const million = `{"a":${'['.repeat(1_000_000)}`;
  assert.equal((await refused(completionPath, million)).code, 'json_too_deep');
  assert.ok(performance.now() - t0 < 2_000, 'a million brackets are refused in one pass');
  const objects = `{"model":"fake-model","prompt":"hi","x":${'{"y":'.repeat(MAX_JSON_DEPTH)}1${'}'.repeat(MAX_JSON_DEPTH)}}`;
  assert.equal((await refused(completionPath, objects)).code, 'json_too_deep');
  const inString = completionText(`,"user":"${'[{'.repeat(100)}\\"[["`);
  assert.equal((await callJson(context, { path: completionPath, body: inString })).status, 200);
});

test('a prompt with more bytes than maxPromptTokens tokens can hold is refused before it is tokenized', async () => {
  let encoded = 0;
  const counting = new FakeEngine();
  const encodeText = counting.encodeText.bind(counting);
  counting.encodeText = (text: string) => {
    encoded++;
    return encodeText(text);
  };
  const ctx = createServeContext({ engine: counting, limits: { maxPromptTokens: 60 } });
  const big = errorOf(await callJson(ctx, { path: completionPath, body: { model: 'fake-model', prompt: 'x'.repeat(60 * 4 + 1) } }), 400);
  assert.equal(big.code, 'context_length_exceeded');
  assert.match(big.message, /your prompt is 241 bytes of text, more than that many tokens of this model can hold \(240 bytes\)/);
  const chat = errorOf(await callJson(ctx, { path: chatPath, body: { model: 'fake-model', messages: [{ role: 'user', content: 'y'.repeat(300) }] } }), 400);
  assert.equal(chat.param, 'messages');
  assert.equal(encoded, 0, 'neither was tokenized');
  // Below the byte bound the token count decides, as before.
  const tokens = errorOf(await callJson(ctx, { path: completionPath, body: { model: 'fake-model', prompt: 'x'.repeat(61) } }), 400);
  assert.match(tokens.message, /resulted in 61 tokens/);
  assert.equal(encoded, 1);
});

test('a malformed %-escape in a model id is a 404, not a crash', async () => {
  const error = errorOf(await callJson(context, { method: 'GET', path: '/v1/models/%E0%A4%A' }), 404);
  assert.equal(error.code, 'model_not_found');
  assert.deepEqual(errors, [], 'nothing unexpected was thrown');
});
