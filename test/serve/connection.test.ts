// Connection handling of streamed responses over raw sockets: a client that sends
// `Connection: close` (or speaks HTTP/1.0) and reads until the server closes gets its socket closed
// as soon as the stream ends; HTTP/1.1 keep-alive clients keep a reusable connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createServeContext } from '../../src/serve/context.ts';
import { startServer } from '../../src/serve/http.ts';
import { FakeEngine } from './helpers.ts';

const streamBody = (prompt: string) => JSON.stringify({ model: 'fake-model', prompt, max_tokens: 3, stream: true });

async function fakeServer(t: { after(fn: () => Promise<void>): void }) {
  const server = await startServer({ context: createServeContext({ engine: new FakeEngine(), limits: { queueCapacity: 128 } }), port: 0 });
  t.after(() => server.close());
  return server;
}

/**
 * Sends one raw HTTP request and reads until the server closes the socket (or `giveUpMs`).
 * Returns what arrived, when the last SSE event arrived and when the server closed (ms from start).
 */
function readUntilClose(port: number, request: string, giveUpMs = 5_000): Promise<{ text: string; doneAt: number; closedAt: number | undefined }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let text = '';
    let doneAt = NaN;
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, doneAt, closedAt: undefined });
    }, giveUpMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (Number.isNaN(doneAt) && text.includes('data: [DONE]')) doneAt = performance.now() - t0;
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve({ text, doneAt, closedAt: performance.now() - t0 });
    });
    socket.on('error', reject);
  });
}

function rawPost(path: string, body: string, headers: string, version = '1.1'): string {
  return `POST ${path} HTTP/${version}\r\nHost: 127.0.0.1\r\n${headers}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

test('a stream for a client that sends Connection: close ends with the server closing the socket', async (t) => {
  const server = await fakeServer(t);
  const { text, doneAt, closedAt } = await readUntilClose(server.port, rawPost('/v1/completions', streamBody('q'), 'Connection: close\r\n'));
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(text, /\r\nconnection: close\r\n/i, 'the response announces the close');
  assert.ok(text.endsWith('data: [DONE]\n\n\r\n0\r\n\r\n'), 'the chunked stream is complete');
  assert.ok(closedAt !== undefined, 'the server closed the socket');
  assert.ok(closedAt - doneAt < 1_000, `closed ${closedAt - doneAt} ms after the last event`);
});

test('an HTTP/1.0 client (no chunked encoding) gets the stream ended by the close', async (t) => {
  const server = await fakeServer(t);
  const { text, closedAt } = await readUntilClose(server.port, rawPost('/v1/completions', streamBody('v'), '', '1.0'));
  assert.ok(closedAt !== undefined, 'the server closed the socket: the only way an HTTP/1.0 client knows the body ended');
  assert.doesNotMatch(text, /transfer-encoding: chunked/i);
  assert.ok(text.endsWith('data: [DONE]\n\n'));
});

test('64 concurrent streams whose clients read until close all finish promptly', async (t) => {
  const server = await fakeServer(t);
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: 64 }, (_, i) => readUntilClose(server.port, rawPost('/v1/completions', streamBody(String.fromCharCode(97 + (i % 26))), 'Connection: close\r\n'), 20_000)),
  );
  const elapsed = performance.now() - t0;
  for (const [i, { text, doneAt, closedAt }] of results.entries()) {
    assert.ok(text.includes('data: [DONE]'), `stream ${i} complete`);
    assert.ok(closedAt !== undefined && closedAt - doneAt < 1_000, `stream ${i}: the server closed ${closedAt === undefined ? 'never' : `${closedAt - doneAt} ms after the last event`}`);
  }
  // Before the fix every socket stayed open for the keep-alive timeout (72 s then).
  assert.ok(elapsed < 10_000, `64 streams took ${elapsed} ms`);
});

test('node:http: a request with Connection: close gets a stream that says Connection: close', async (t) => {
  const server = await fakeServer(t);
  const { connection, body } = await new Promise<{ connection: string | undefined; body: string }>((resolve, reject) => {
    const req = http.request(`${server.url}/v1/completions`, { method: 'POST', agent: false, headers: { connection: 'close', 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ connection: res.headers.connection, body: text }));
    });
    req.on('error', reject);
    req.end(streamBody('h'));
  });
  assert.equal(connection, 'close');
  assert.ok(body.endsWith('data: [DONE]\n\n'));
});

test('an HTTP/1.1 keep-alive client can send a second request on the socket a stream used', async (t) => {
  const server = await fakeServer(t);
  const answers = await new Promise<string>((resolve, reject) => {
    let text = '';
    const socket = net.connect(server.port, '127.0.0.1', () => socket.write(rawPost('/v1/completions', streamBody('k'), '')));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.endsWith('data: [DONE]\n\n\r\n0\r\n\r\n')) socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      if (text.includes('{"status":"ok"}')) socket.end();
    });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    setTimeout(() => reject(new Error(`no second answer on the socket; got ${JSON.stringify(text)}`)), 5_000).unref();
  });
  const statuses = answers.match(/HTTP\/1\.1 \d{3}/g);
  assert.deepEqual(statuses, ['HTTP/1.1 200', 'HTTP/1.1 200']);
  assert.match(answers, /keep-alive/i, 'the stream kept the connection open');
});
