// TensorBoard event files, written without TensorFlow: a TFRecord stream of `Event` protobufs.
//
//   record = uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)
//   masked_crc(x) = ((crc32c(x) >>> 15) | (crc32c(x) << 17)) + 0xa282ead8        (mod 2^32)
//   Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }
//
// The first record carries file_version "brain.Event:2". Scalars only: what training curves need.

import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli), as TFRecord uses. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC32C_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function maskedCrc(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

// Protobuf wire format: varint keys and lengths, 64-bit doubles, 32-bit floats.
function varint(value: number | bigint): number[] {
  let v = BigInt(value);
  if (v < 0n) v += 1n << 64n; // two's complement, as int64 is encoded
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}
const key = (field: number, wireType: number) => varint((field << 3) | wireType);
const lengthDelimited = (field: number, bytes: Uint8Array | number[]) => [...key(field, 2), ...varint(bytes.length), ...bytes];
function fixed64Double(field: number, value: number): number[] {
  const buffer = Buffer.alloc(8);
  buffer.writeDoubleLE(value);
  return [...key(field, 1), ...buffer];
}
function fixed32Float(field: number, value: number): number[] {
  const buffer = Buffer.alloc(4);
  buffer.writeFloatLE(value);
  return [...key(field, 5), ...buffer];
}

/** One serialised Event: wall time, step, and either the file version or scalar values. */
export function encodeEvent(event: { wallTime: number; step: number; fileVersion?: string; scalars?: Record<string, number> }): Uint8Array {
  const bytes = [...fixed64Double(1, event.wallTime), ...key(2, 0), ...varint(event.step)];
  if (event.fileVersion !== undefined) bytes.push(...lengthDelimited(3, Buffer.from(event.fileVersion, 'utf8')));
  if (event.scalars) {
    const values = Object.entries(event.scalars)
      .filter(([, v]) => Number.isFinite(v))
      .flatMap(([tag, v]) => lengthDelimited(1, [...lengthDelimited(1, Buffer.from(tag, 'utf8')), ...fixed32Float(2, v)]));
    bytes.push(...lengthDelimited(5, values));
  }
  return Uint8Array.from(bytes);
}

/** One TFRecord framing `data`. */
export function encodeRecord(data: Uint8Array): Uint8Array {
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(BigInt(data.length));
  const out = Buffer.alloc(8 + 4 + data.length + 4);
  header.copy(out, 0);
  out.writeUInt32LE(maskedCrc(header), 8);
  Buffer.from(data).copy(out, 12);
  out.writeUInt32LE(maskedCrc(data), 12 + data.length);
  return out;
}

/** Appends scalar events to one events.out.tfevents.* file in `dir` (TensorBoard's --logdir). */
export class TensorBoardWriter {
  readonly path: string;
  readonly #now: () => number;

  constructor(dir: string, now: () => number = Date.now) {
    mkdirSync(dir, { recursive: true });
    this.#now = now;
    const started = now();
    this.path = join(dir, `events.out.tfevents.${Math.floor(started / 1000)}.${hostname()}.${process.pid}.intuitor`);
    writeFileSync(this.path, encodeRecord(encodeEvent({ wallTime: started / 1000, step: 0, fileVersion: 'brain.Event:2' })));
  }

  /** One event holding every finite scalar (tags like 'reward/self-certainty'). */
  scalars(step: number, values: Record<string, number>): void {
    appendFileSync(this.path, encodeRecord(encodeEvent({ wallTime: this.#now() / 1000, step, scalars: values })));
  }
}
