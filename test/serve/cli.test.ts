// `intuitor serve`: its flags, the refusal to listen beyond loopback without a key, and a run that
// prints its URL, answers, and shuts down when asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import { main } from '../../src/cli/main.ts';
import { resolveServeConfig, runServe } from '../../src/cli/serve.ts';
import type { RunningServer } from '../../src/serve/http.ts';
import { fixtureDir } from './helpers.ts';

function capture() {
  const chunks = { stdout: '', stderr: '' };
  const sink = (key: 'stdout' | 'stderr') =>
    new Writable({
      write(chunk, _encoding, done) {
        chunks[key] += String(chunk);
        done();
      },
    });
  return { io: { stdout: sink('stdout'), stderr: sink('stderr') }, chunks };
}

test('serve flags: defaults, the env API key, and checks across flags', () => {
  const config = resolveServeConfig({ model: fixtureDir }, {});
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 8000);
  assert.equal(config.apiKey, undefined);
  assert.equal(config.maxN, 16);
  assert.equal(resolveServeConfig({ model: fixtureDir }, { INTUITOR_API_KEY: 'k1' }).apiKey, 'k1');
  assert.equal(resolveServeConfig({ model: fixtureDir, apiKey: 'k2' }, { INTUITOR_API_KEY: 'k1' }).apiKey, 'k2');
  assert.throws(() => resolveServeConfig({ model: fixtureDir, host: '0.0.0.0' }, {}), /--host 0\.0\.0\.0 is reachable from other machines: set --api-key/);
  assert.equal(resolveServeConfig({ model: fixtureDir, host: '0.0.0.0', apiKey: 'k' }, {}).host, '0.0.0.0');
  assert.throws(() => resolveServeConfig({ model: fixtureDir, maxN: 8, maxBestOf: 4 }, {}), /--max-best-of \(4\) must be at least --max-n \(8\)/);
  assert.throws(() => resolveServeConfig({ model: fixtureDir, port: 70000 }, {}), /--port must be <= 65535/);
});

test('intuitor serve on 0.0.0.0 without a key exits 1 before loading anything', async () => {
  const { io, chunks } = capture();
  const saved = process.env.INTUITOR_API_KEY;
  delete process.env.INTUITOR_API_KEY;
  try {
    const code = await main(['serve', '--model', '/no/such/model', '--host', '0.0.0.0'], io as never);
    assert.equal(code, 1);
    assert.match(chunks.stderr, /reachable from other machines/);
    assert.doesNotMatch(chunks.stderr, /no\/such\/model/);
  } finally {
    if (saved !== undefined) process.env.INTUITOR_API_KEY = saved;
  }
  const help = capture();
  assert.equal(await main(['serve', '--help'], help.io as never), 0);
  for (const flag of ['--model', '--host', '--port', '--api-key', '--dtype', '--max-n', '--max-best-of', '--max-tokens', '--queue']) assert.ok(help.chunks.stdout.includes(flag), flag);
});

test('runServe prints its URL, serves the model, and shuts down when stopped', { timeout: 30_000 }, async () => {
  const { io, chunks } = capture();
  const stop = new AbortController();
  let onListening!: (server: RunningServer) => void;
  const listening = new Promise<RunningServer>((resolve) => (onListening = resolve));
  const finished = runServe(resolveServeConfig({ model: fixtureDir, port: 0, apiKey: 'sk-cli', servedModelName: 'tiny' }, {}), io, { signal: stop.signal, onListening });
  // A failed start must fail the test rather than leave it waiting for onListening.
  const server = await Promise.race([listening, finished.then(() => assert.fail(`runServe ended before listening: ${chunks.stderr}`))]);
  assert.match(chunks.stdout, new RegExp(`serving tiny at http://127\\.0\\.0\\.1:${server.port}/v1 \\(API key required\\)`));
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-cli', maxRetries: 0 });
  const res = await client.completions.create({ model: 'tiny', prompt: 'Hello', max_tokens: 2 });
  assert.equal(res.usage?.completion_tokens, 2);
  stop.abort();
  await finished;
  assert.match(chunks.stderr, /shutting down/);
  assert.match(chunks.stderr, /POST \/v1\/completions 200 \d+ ms prompt_tokens=\d+ completion_tokens=2/, 'the access log goes to the command\'s stderr');
  await assert.rejects(fetch(`${server.url}/health`), 'the server no longer listens');
});

test('serve --no-access-log turns the access log off', () => {
  assert.equal(resolveServeConfig({ model: fixtureDir }, {}).accessLog, true);
  assert.equal(resolveServeConfig({ model: fixtureDir, accessLog: false }, {}).accessLog, false);
});
