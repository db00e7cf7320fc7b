// Streaming building blocks: deltas that never take back text, and the event channel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeltaDecoder, EventChannel } from '../../src/serve/stream.ts';
import { unstableTail } from '../../src/generate/stop-strings.ts';

test('unstableTail holds back trailing U+FFFD and the start of a stop string', () => {
  assert.equal(unstableTail('abc', []), 0);
  assert.equal(unstableTail('ab\uFFFD', []), 1);
  assert.equal(unstableTail('ab\uFFFD\uFFFD', ['x']), 2);
  assert.equal(unstableTail('abcEN', ['END']), 2);
  assert.equal(unstableTail('abcE', ['END', 'Ex']), 1);
  assert.equal(unstableTail('abcEND', ['END']), 0); // a whole stop string is cut, not held
  assert.equal(unstableTail('a\n', ['\n\n', 'zz']), 1);
});

test('DeltaDecoder: a character split over two tokens is sent once, whole', () => {
  // Byte-level tokens: 1 and 2 are the two UTF-8 bytes of "é"; decoded alone, 1 is U+FFFD.
  const bytes: Record<number, number[]> = { 0: [0x63, 0x61], 1: [0xc3], 2: [0xa9], 3: [0x21] };
  const decode = (ids: number[]) => new TextDecoder().decode(new Uint8Array(ids.flatMap((id) => bytes[id]!)));
  assert.equal(decode([0, 1]), 'ca\uFFFD');
  const d = new DeltaDecoder(decode, []);
  assert.deepEqual([0, 1, 2, 3].map((id) => d.push(id)), ['ca', '', 'é', '!']);
  assert.equal(d.finish('caé!'), '');
  // A sequence that ends inside a character ends with U+FFFD, as its final text does.
  const cut = new DeltaDecoder(decode, []);
  assert.deepEqual([0, 1].map((id) => cut.push(id)), ['ca', '']);
  assert.equal(cut.finish(decode([0, 1])), '\uFFFD');
});

test('DeltaDecoder: text past a stop string is never sent; finish sends what was held', () => {
  const d = new DeltaDecoder((ids) => ids.map((id) => 'ab<E>c'[id]).join(''), ['<E>']);
  const deltas = [0, 1, 2, 3, 4, 5].map((id) => d.push(id));
  assert.deepEqual(deltas, ['a', 'b', '', '', '', '']);
  assert.equal(d.finish('ab'), '');
  const held = new DeltaDecoder((ids) => ids.map((id) => 'ab<'[id]).join(''), ['<E>']);
  assert.deepEqual([0, 1, 2].map((id) => held.push(id)), ['a', 'b', '']);
  assert.equal(held.finish('ab<'), '<'); // the sequence ended on a stop prefix: it is text after all
});

test('EventChannel delivers in order, ends, and cancels when the consumer returns early', async () => {
  let cancelled = 0;
  const channel = new EventChannel<number>(() => cancelled++);
  channel.push(1);
  const pending = channel.next();
  assert.deepEqual(await pending, { value: 1, done: false });
  const waiting = channel.next();
  channel.push(2);
  assert.deepEqual(await waiting, { value: 2, done: false });
  const stuck = channel.next();
  await channel.return();
  assert.deepEqual(await stuck, { value: undefined, done: true });
  assert.equal(cancelled, 1);
  assert.equal(channel.cancelled, true);
  channel.push(3); // dropped
  assert.deepEqual(await channel.next(), { value: undefined, done: true });

  const ended = new EventChannel<string>(() => cancelled++);
  ended.push('a');
  ended.push('b');
  ended.end();
  const seen: string[] = [];
  for await (const v of ended) seen.push(v);
  assert.deepEqual(seen, ['a', 'b']);
  assert.equal(cancelled, 1, 'a channel that ended normally is not cancelled');
});
