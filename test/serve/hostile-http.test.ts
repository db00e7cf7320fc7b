// What a hostile client can do to the HTTP layer, over raw sockets against a fake engine: headers
// or a body sent a byte at a time, headers larger than allowed, bodies larger than allowed (with or
// without a Content-Length), bytes that are not HTTP, methods the server has no route for, a URL
// with a broken %-escape. Each gets an OpenAI-shaped 4xx and a closed or reusable socket; none
// reaches the engine or the server's error log. Short timeouts keep the slow cases fast.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createServeContext } from '../../src/serve/context.ts';
import { startServer, type RunningServer } from '../../src/serve/http.ts';
import { FakeEngine } from './helpers.ts';

const timeouts = { headersMs: 300, requestMs: 600, checkIntervalMs: 50 };
const engine = new FakeEngine();
const errors: unknown[] = [];
let server: RunningServer;

before(async () => {
  const context = createServeContext({ engine, onError: (e) => errors.push(e) });
  server = await startServer({ context, port: 0, bodyLimit: 8 * 1024, maxHeaderBytes: 4 * 1024, timeouts });
});
after(async () => {
  engine.release();
  await server.close();
  assert.deepEqual(errors, [], 'no hostile request reached the error log');
});

interface RawAnswer {
  status: number;
  headers: string;
  body: string;
  /** ms from connecting until the server closed the socket (undefined: still open at giveUpMs) */
  closedAt: number | undefined;
}

/**
 * Opens a socket, sends `parts` (a string, or strings sent `gapMs` apart) and reads until the
 * server closes it or the first full response has arrived and `closeAfterResponse` is false.
 */
function raw(parts: string | Buffer | (string | Buffer)[], options: { gapMs?: number; giveUpMs?: number } = {}): Promise<RawAnswer> {
  const chunks = Array.isArray(parts) ? parts : [parts];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let text = '';
    let closedAt: number | undefined;
    const socket = net.connect(server.port, '127.0.0.1');
    const finish = () => {
      clearTimeout(timer);
      for (const t of sendTimers) clearTimeout(t);
      const at = text.indexOf('\r\n\r\n');
      const head = at === -1 ? text : text.slice(0, at);
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body: at === -1 ? '' : text.slice(at + 4), closedAt });
    };
    const timer = setTimeout(() => {
      socket.destroy();
      finish();
    }, options.giveUpMs ?? 5_000);
    const sendTimers = chunks.map((chunk, i) => setTimeout(() => socket.writable && socket.write(chunk), i * (options.gapMs ?? 0)));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('close', () => {
      closedAt = performance.now() - t0;
      finish();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error)));
  });
}

function openAiError(answer: RawAnswer, status: number): { message: string; code: string | null; type: string } {
  assert.equal(answer.status, status, `${answer.headers}\n\n${answer.body}`);
  const body = JSON.parse(answer.body) as { error: { message: string; code: string | null; type: string; param: unknown } };
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(body.error.type, 'invalid_request_error');
  return body.error;
}

const post = (headers: string, body = '') => `POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n${body}`;
const completion = JSON.stringify({ model: 'fake-model', prompt: 'hi', max_tokens: 2 });

test('headers sent a byte at a time (slowloris) get a 408 and a closed socket once headersMs is up', async () => {
  const start = 'POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ';
  const calls = engine.calls.length;
  const answer = await raw([start, ...'abcdefghijklmnopqrstuvwxyz'.split('')], { gapMs: 100 });
  const error = openAiError(answer, 408);
  assert.equal(error.code, 'request_timeout');
  assert.match(error.message, /300 ms for its headers/);
  assert.ok(answer.closedAt !== undefined && answer.closedAt < 2_000, `closed after ${answer.closedAt} ms`);
  assert.equal(engine.calls.length, calls);
});

test('a body sent a byte at a time gets a 408 once requestMs is up', async () => {
  const body = completion.split('');
  const answer = await raw([post(`Content-Type: application/json\r\nContent-Length: ${completion.length}\r\n`), ...body], { gapMs: 40 });
  assert.equal(openAiError(answer, 408).code, 'request_timeout');
  assert.ok(answer.closedAt !== undefined && answer.closedAt < 2_500, `closed after ${answer.closedAt} ms`);
});

test('a stream that lasts longer than requestMs is not cut: the timeouts bound receiving, not answering', async () => {
  engine.block();
  const started = engine.nextCall();
  const body = JSON.stringify({ model: 'fake-model', prompt: 's', max_tokens: 3, stream: true });
  const answer = raw(post(`Connection: close\r\nContent-Length: ${body.length}\r\n`, body), { giveUpMs: 5_000 });
  await started;
  await new Promise((r) => setTimeout(r, timeouts.requestMs + 4 * timeouts.checkIntervalMs));
  engine.release();
  const { status, body: events } = await answer;
  assert.equal(status, 200);
  assert.match(events, /data: \[DONE\]/);
});

test('headers larger than maxHeaderBytes get a 431', async () => {
  const answer = await raw(post(`X-Big: ${'b'.repeat(5 * 1024)}\r\nContent-Length: 2\r\n`, '{}'));
  const error = openAiError(answer, 431);
  assert.equal(error.code, 'headers_too_large');
  assert.match(error.message, /4096 bytes/);
  assert.ok(answer.closedAt !== undefined);
});

test('a body larger than the limit is a 413, whether its length is announced or not', async () => {
  const announced = await raw(post('Content-Type: application/json\r\nContent-Length: 1000000000000\r\n'), { giveUpMs: 3_000 });
  assert.equal(openAiError(announced, 413).code, 'request_too_large');
  const big = '9'.repeat(4 * 1024);
  const chunked = [post('Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n'), ...[0, 1, 2, 3].map(() => `${big.length.toString(16)}\r\n${big}\r\n`)];
  const answer = await raw(chunked, { gapMs: 10, giveUpMs: 3_000 });
  assert.equal(openAiError(answer, 413).code, 'request_too_large');
});

test('bytes that are not HTTP, and a request smuggling attempt, get a 400 and a closed socket', async () => {
  const garbage = await raw('HELLO THERE\r\n\r\n');
  assert.equal(openAiError(garbage, 400).code, 'bad_request');
  assert.ok(garbage.closedAt !== undefined);
  const smuggle = await raw(post('Content-Length: 4\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'));
  assert.equal(smuggle.status, 400);
  assert.ok(smuggle.closedAt !== undefined);
});

test('a body that is not UTF-8 gets a 400 over HTTP too; a body without a content type is read', async () => {
  const bad = Buffer.concat([Buffer.from(post(`Content-Type: application/json\r\nContent-Length: ${completion.length + 1}\r\nConnection: close\r\n`)), Buffer.from(completion.slice(0, 30)), Buffer.from([0xfe]), Buffer.from(completion.slice(30))]);
  const answer = await raw(bad);
  assert.equal(openAiError(answer, 400).code, 'invalid_encoding');
  const untyped = await raw(post(`Content-Length: ${completion.length}\r\nConnection: close\r\n`, completion));
  assert.equal(untyped.status, 200);
});

test('methods without a route and broken %-escapes get OpenAI-shaped errors, not 500s', async () => {
  const trace = await raw('TRACE /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  assert.equal(openAiError(trace, 405).code, 'method_not_allowed');
  const propfind = await raw('PROPFIND /anywhere HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  assert.equal(openAiError(propfind, 404).code, 'unknown_url');
  const escape = await raw('GET /v1/models/%E0%A4%A HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  const error = openAiError(escape, 400);
  assert.equal(error.code, 'invalid_url');
  assert.match(error.message, /"\/v1\/models\/%E0%A4%A" has a malformed %-escape/);
  const long = await raw(`GET /v1/models/${'m'.repeat(2000)} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  assert.equal(openAiError(long, 404).code, 'model_not_found');
});

test('after all that the server still answers', async () => {
  const answer = await raw(post(`Content-Length: ${completion.length}\r\nConnection: close\r\n`, completion));
  assert.equal(answer.status, 200);
  assert.match(answer.body, /"text_completion"/);
});
