// No response names a file of the server. Copies of the fixture model (weights and tokenizer linked,
// tokenizer_config.json rewritten) under a temporary folder carry chat templates that raise, fail
// to render or fail to parse; every error path a client can reach over HTTP is then checked for
// the folder's path. A fake engine whose errors quote its own path checks the last line of defence
// (the redaction of every error message), and a failing engine the generic 500.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServeContext } from '../../src/serve/context.ts';
import { loadModelEngine, type ModelEngine } from '../../src/serve/engine.ts';
import { startServer, type RunningServer } from '../../src/serve/http.ts';
import { ChatTemplateError } from '../../src/tokenizer/index.ts';
import { callJson, errorOf, FakeEngine, fixtureDir, readEvents, call } from './helpers.ts';

// Content 'raise' makes the template raise; 'render' calls something that is not a function.
const TRICKY_TEMPLATE =
  "{%- if messages[0].content == 'raise' %}{{ raise_exception('roles must alternate, got ' + messages[0].role) }}" +
  "{%- elif messages[0].content == 'render' %}{{ no_such_function() }}" +
  "{%- else %}{%- for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}{%- endif %}";
const UNPARSABLE_TEMPLATE = '{% for m in messages %}{{ m.content }}';

let root: string;
const engines: ModelEngine[] = [];
const servers: RunningServer[] = [];
let tricky: RunningServer;
let unparsable: RunningServer;
const errors: unknown[] = [];

function modelCopy(name: string, chatTemplate: string): string {
  const dir = join(root, 'private-models', name);
  mkdirSync(dir, { recursive: true });
  for (const file of ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json']) symlinkSync(join(fixtureDir, file), join(dir, file));
  const config = JSON.parse(readFileSync(join(fixtureDir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: chatTemplate }));
  return dir;
}

async function serve(dir: string): Promise<RunningServer> {
  const engine = await loadModelEngine(dir);
  engines.push(engine);
  const server = await startServer({ context: createServeContext({ engine, limits: { maxTokens: 8 }, onError: (e) => errors.push(e) }), port: 0, bodyLimit: 64 * 1024 });
  servers.push(server);
  return server;
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'intuitor-paths-'));
  tricky = await serve(modelCopy('tricky-template', TRICKY_TEMPLATE));
  unparsable = await serve(`${modelCopy('unparsable-template', UNPARSABLE_TEMPLATE)}/`);
});
after(async () => {
  for (const server of servers) await server.close();
  for (const engine of engines) engine.dispose();
  rmSync(root, { recursive: true, force: true });
});

/** Every path a response must not contain: the temporary root (as given and resolved) and the fixture's folder. */
function assertNoPath(text: string, what: string): void {
  for (const path of new Set([root, realpathSync(root), fixtureDir, realpathSync(fixtureDir)])) {
    assert.ok(!text.includes(path), `${what} names ${path}: ${text}`);
  }
  assert.doesNotMatch(text, /private-models/, what);
}

async function send(server: RunningServer, path: string, init: { method?: string; body?: string | Uint8Array } = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`${server.url}${path}`, { method: init.method ?? (init.body === undefined ? 'GET' : 'POST'), ...(init.body !== undefined ? { body: init.body } : {}) });
  return { status: res.status, text: await res.text() };
}

const chat = (model: string, content: string, extra: Record<string, unknown> = {}) => JSON.stringify({ model, messages: [{ role: 'user', content }], max_tokens: 2, ...extra });

test('chat templates that raise, fail to render or fail to parse: a 400 with the reason and no path', async () => {
  const raised = await send(tricky, '/v1/chat/completions', { body: chat('tricky-template', 'raise') });
  assert.equal(raised.status, 400);
  assert.match(raised.text, /The chat template rejected these messages: the chat template raised an exception: roles must alternate, got user/);
  assertNoPath(raised.text, 'raise_exception');
  const rendered = await send(tricky, '/v1/chat/completions', { body: chat('tricky-template', 'render', { stream: true }) });
  assert.equal(rendered.status, 400);
  assert.match(rendered.text, /cannot render the chat template/);
  assertNoPath(rendered.text, 'a render error');
  const parsed = await send(unparsable, '/v1/chat/completions', { body: chat('unparsable-template', 'hi') });
  assert.equal(parsed.status, 400);
  assert.match(parsed.text, /cannot parse the chat template/);
  assertNoPath(parsed.text, 'a parse error');
  const fine = await send(tricky, '/v1/chat/completions', { body: chat('tricky-template', 'hello') });
  assert.equal(fine.status, 200, fine.text);
});

test('no response of any error path a client can reach names the model folder', async () => {
  const requests: [what: string, path: string, init: { method?: string; body?: string | Uint8Array }, status: number][] = [
    ['models', '/v1/models', {}, 200],
    ['one model', '/v1/models/tricky-template', {}, 200],
    ['an unknown model', '/v1/chat/completions', { body: chat('/etc/passwd', 'hi') }, 404],
    ['a model card that does not exist', '/v1/models/nope', {}, 404],
    ['invalid JSON', '/v1/completions', { body: '{"model":' }, 400],
    ['invalid UTF-8', '/v1/completions', { body: Uint8Array.from([0x7b, 0xff, 0x7d]) }, 400],
    ['deep JSON', '/v1/completions', { body: `{"a":${'['.repeat(100)}` }, 400],
    ['an oversized body', '/v1/completions', { body: 'x'.repeat(70_000) }, 413],
    ['an unknown URL', '/v2/engines', {}, 404],
    ['a wrong method', '/v1/completions', { method: 'DELETE' }, 405],
    ['a broken %-escape', '/v1/models/%E0%A4', {}, 400],
    ['a long one-word prompt', '/v1/completions', { body: JSON.stringify({ model: 'tricky-template', prompt: 'x'.repeat(60_000) }) }, 400],
    ['a prompt beyond the token limit', '/v1/completions', { body: JSON.stringify({ model: 'tricky-template', prompt: 'hello '.repeat(600) }) }, 400],
    ['max_tokens beyond the limit', '/v1/completions', { body: JSON.stringify({ model: 'tricky-template', prompt: 'hi', max_tokens: 9 }) }, 400],
    ['an unsupported parameter', '/v1/chat/completions', { body: chat('tricky-template', 'hi', { tools: [{ type: 'function' }] }) }, 400],
    ['a negative number', '/v1/completions', { body: JSON.stringify({ model: 'tricky-template', prompt: 'hi', temperature: -1 }) }, 400],
    ['a lone surrogate', '/v1/completions', { body: '{"model":"tricky-template","prompt":"\\ud800"}' }, 400],
    ['a template that raises, streamed', '/v1/chat/completions', { body: chat('tricky-template', 'raise', { stream: true }) }, 400],
    ['a completion', '/v1/completions', { body: JSON.stringify({ model: 'tricky-template', prompt: 'hi', max_tokens: 2 }) }, 200],
    ['a streamed completion', '/v1/completions', { body: JSON.stringify({ model: 'tricky-template', prompt: 'hi', max_tokens: 2, stream: true }) }, 200],
  ];
  for (const [what, path, init, status] of requests) {
    const { status: got, text } = await send(tricky, path, init);
    assert.equal(got, status, `${what}: ${text}`);
    assertNoPath(text, what);
  }
  assert.deepEqual(errors, [], 'none of these is an error of the server');
});

test('any error message that quotes the engine\'s folder has it replaced by the model id', async () => {
  const secret = join(root, 'private-models', 'fake');
  class PathQuotingEngine extends FakeEngine {
    readonly privatePaths = [secret];
    override renderChat(): string {
      throw new ChatTemplateError(`${secret}/tokenizer_config.json: the chat template raised an exception: nope`);
    }
    override async generate(): Promise<never> {
      throw new Error(`cannot read ${secret}/model.safetensors`);
    }
  }
  const engine = new PathQuotingEngine();
  const context = createServeContext({ engine });
  const error = errorOf(await callJson(context, { path: '/v1/chat/completions', body: { model: 'fake-model', messages: [{ role: 'user', content: 'x' }] } }), 400);
  assert.equal(error.message, 'The chat template rejected these messages: fake-model/tokenizer_config.json: the chat template raised an exception: nope');
  // An engine failure is a generic 500, whatever its message; in a stream, a generic error event.
  const failing = new PathQuotingEngine();
  const logged: unknown[] = [];
  const failingContext = createServeContext({ engine: failing, onError: (e) => logged.push(e) });
  const plain = errorOf(await callJson(failingContext, { path: '/v1/completions', body: { model: 'fake-model', prompt: 'x', max_tokens: 2 } }), 500);
  assert.equal(plain.message, 'The server had an error while processing your request.');
  const events = await readEvents(await call(failingContext, { path: '/v1/completions', body: { model: 'fake-model', prompt: 'x', max_tokens: 2, stream: true } }));
  assert.deepEqual(events, [{ error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } }]);
  assert.equal(logged.length, 2, 'the operator still sees both failures');
});
