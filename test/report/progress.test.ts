// The progress reporter: rate, ETA, resumed work, and plain lines when not on a terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Progress, formatDuration } from '../../src/report/progress.ts';

function sink(isTTY: boolean) {
  let text = '';
  const stream = Object.assign(new Writable({ write: (chunk, _e, done) => ((text += String(chunk)), done()) }), { isTTY, columns: 100 });
  return { stream, text: () => text };
}

test('rate and ETA from the work done in this run; resumed work counts in the total only', () => {
  let now = 0;
  const { stream } = sink(false);
  const progress = new Progress({ label: 'job', total: 10, unit: 'items', stream, now: () => now });
  progress.resume(4);
  assert.match(progress.line(), /^job 4\/10 \(40%\) 0\.00 items\/s ETA \?$/);
  now = 2000;
  progress.tick(2, 'accuracy 50.0%');
  assert.equal(progress.line(), 'job 6/10 (60%) 1.00 items/s ETA 4s  accuracy 50.0%');
  now = 6000;
  progress.tick(4);
  assert.equal(progress.line(), 'job 10/10 (100%) 1.00 items/s in 6s  accuracy 50.0%');
});

test('without a terminal: one line per interval and a final line; on a terminal: a redrawn bar', () => {
  let now = 0;
  const plain = sink(false);
  const progress = new Progress({ label: 'p', total: 100, stream: plain.stream, logIntervalMs: 1000, now: () => now });
  for (let i = 0; i < 100; i++) {
    now += 100;
    progress.tick();
  }
  progress.finish();
  const lines = plain.text().trim().split('\n');
  assert.ok(lines.length >= 10 && lines.length <= 12, `${lines.length} lines`);
  assert.match(lines.at(-1)!, /^p 100\/100 \(100%\)/);
  const tty = sink(true);
  const bar = new Progress({ label: 'b', total: 4, stream: tty.stream, now: () => 0 });
  bar.tick(2);
  assert.match(tty.text(), /^\r\x1b\[2K\[#+\.+\] b 2\/4 \(50%\)/);
});

test('durations read as a person would write them', () => {
  assert.equal(formatDuration(5), '5s');
  assert.equal(formatDuration(65), '1m05s');
  assert.equal(formatDuration(3725), '1h02m');
  assert.equal(formatDuration(Infinity), '?');
});
