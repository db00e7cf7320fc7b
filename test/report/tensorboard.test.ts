// TensorBoard event files: CRC-32C against its published check value, and a file read back by a
// TFRecord + protobuf reader written here from the format's specification.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TensorBoardWriter, crc32c } from '../../src/report/tensorboard.ts';

// Masked CRC as TFRecord defines it, from the reader's side.
const mask = (crc: number) => ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;

function readVarint(bytes: Buffer, at: number): [bigint, number] {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    const b = bytes[at++]!;
    value |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [value, at];
    shift += 7n;
  }
}

// Fields of one protobuf message: field number -> list of raw values (number, bigint or Buffer).
function fields(bytes: Buffer): Map<number, (number | bigint | Buffer)[]> {
  const out = new Map<number, (number | bigint | Buffer)[]>();
  let at = 0;
  while (at < bytes.length) {
    const [k, next] = readVarint(bytes, at);
    at = next;
    const field = Number(k >> 3n);
    const wire = Number(k & 7n);
    let value: number | bigint | Buffer;
    if (wire === 0) [value, at] = readVarint(bytes, at);
    else if (wire === 1) (value = bytes.readDoubleLE(at)), (at += 8);
    else if (wire === 5) (value = bytes.readFloatLE(at)), (at += 4);
    else if (wire === 2) {
      const [length, start] = readVarint(bytes, at);
      value = bytes.subarray(start, start + Number(length));
      at = start + Number(length);
    } else throw new Error(`wire type ${wire}`);
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}

test('CRC-32C matches its published check value', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test('an event file reads back as TFRecords of Events with scalar summaries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'intuitor-tb-'));
  try {
    let clock = 1_700_000_000_000;
    const writer = new TensorBoardWriter(dir, () => (clock += 1000));
    writer.scalars(1, { reward: 0.5, 'kl/mean': 0.25, skipped: NaN });
    writer.scalars(2, { reward: 0.75 });
    assert.match(writer.path, /events\.out\.tfevents\.1700000001\..+\.intuitor$/);
    const bytes = readFileSync(writer.path);
    const events: Map<number, (number | bigint | Buffer)[]>[] = [];
    for (let at = 0; at < bytes.length; ) {
      const length = Number(bytes.readBigUInt64LE(at));
      assert.equal(bytes.readUInt32LE(at + 8), mask(crc32c(bytes.subarray(at, at + 8))), 'length CRC');
      const data = bytes.subarray(at + 12, at + 12 + length);
      assert.equal(bytes.readUInt32LE(at + 12 + length), mask(crc32c(data)), 'data CRC');
      events.push(fields(data));
      at += 12 + length + 4;
    }
    assert.equal(events.length, 3);
    assert.equal((events[0]!.get(3)![0] as Buffer).toString(), 'brain.Event:2');
    assert.equal(events[0]!.get(1)![0], 1_700_000_001);
    assert.deepEqual([events[1]!.get(2)![0], events[2]!.get(2)![0]], [1n, 2n]);
    const values = fields(events[1]!.get(5)![0] as Buffer).get(1)!.map((v) => fields(v as Buffer));
    assert.deepEqual(
      values.map((v) => [(v.get(1)![0] as Buffer).toString(), v.get(2)![0]]),
      [['reward', 0.5], ['kl/mean', 0.25]],
      'non-finite values are left out',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
