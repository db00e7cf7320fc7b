// The safetensors format itself, shared by the reader (safetensors.ts) and the writer
// (safetensors-write.ts): the dtype table, the strict header parser and the header serializer.
//
// A file is an 8-byte little-endian u64 N, N bytes of UTF-8 JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}, then the
// data; offsets count from the first data byte. The checks follow Hugging Face's reference reader:
// every tensor's offsets hold exactly product(shape) * element size bytes, and the tensors tile the
// data region with no overlap, no gap and nothing after the last one.

import * as fs from 'node:fs';
import * as os from 'node:os';
import type { DType } from '../torch/index.ts';

/** The safetensors dtype names intuitor reads. I16 and I8 have no engine dtype: they load widened to int32. */
export type SafetensorsDType = 'F64' | 'F32' | 'BF16' | 'F16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

interface DTypeSpec {
  /** bytes per element */
  size: number;
  /** the engine dtype a tensor of this type loads as */
  dtype: DType;
  /** position in the reference implementation's Dtype enum (increasing alignment): the writer's sort key */
  rank: number;
}

export const dtypeSpecs: Readonly<Record<SafetensorsDType, DTypeSpec>> = {
  BOOL: { size: 1, dtype: 'bool', rank: 0 },
  U8: { size: 1, dtype: 'uint8', rank: 1 },
  I8: { size: 1, dtype: 'int32', rank: 2 },
  I16: { size: 2, dtype: 'int32', rank: 5 },
  F16: { size: 2, dtype: 'float16', rank: 7 },
  BF16: { size: 2, dtype: 'bfloat16', rank: 8 },
  I32: { size: 4, dtype: 'int32', rank: 9 },
  F32: { size: 4, dtype: 'float32', rank: 11 },
  F64: { size: 8, dtype: 'float64', rank: 12 },
  I64: { size: 8, dtype: 'int64', rank: 13 },
};

/** The safetensors name of each engine dtype (what the writer stores). */
export const storedDTypeOf: Readonly<Record<DType, SafetensorsDType>> = {
  float32: 'F32',
  float64: 'F64',
  bfloat16: 'BF16',
  float16: 'F16',
  int64: 'I64',
  int32: 'I32',
  uint8: 'U8',
  bool: 'BOOL',
};

export const supportedDTypes = Object.keys(dtypeSpecs) as SafetensorsDType[];

/** The Hugging Face file names in a checkpoint folder. */
export const singleFileName = 'model.safetensors';
export const indexFileName = 'model.safetensors.index.json';
/** Shard files as Hugging Face names them: model-00001-of-00003.safetensors. */
export const shardFilePattern = /^model-\d{5}-of-\d{5}\.safetensors$/;
export const shardFileName = (index: number, count: number): string => `model-${String(index).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.safetensors`;

/** The reference implementation refuses headers above 100 MB; so do we (a corrupt length would otherwise allocate it). */
export const maxHeaderBytes = 100_000_000;

/** An error about one safetensors file (or checkpoint index), and the tensor where there is one. */
export class SafetensorsError extends Error {
  readonly file: string;
  readonly tensor: string | undefined;
  constructor(file: string, message: string, options: { tensor?: string; cause?: unknown } = {}) {
    super(`safetensors: ${file}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SafetensorsError';
    this.file = file;
    this.tensor = options.tensor;
  }
}

/** One tensor's header entry, validated. begin and end count from the data start. */
export interface HeaderEntry {
  name: string;
  stored: SafetensorsDType;
  shape: readonly number[];
  begin: number;
  end: number;
}

export interface ParsedHeader {
  /** byte offset of the data region in the file (8 + header length) */
  dataStart: number;
  /** tensors in data order */
  entries: HeaderEntry[];
  metadata: Record<string, string>;
}

export function assertLittleEndian(): void {
  if (os.endianness() !== 'LE') throw new Error('safetensors: this machine is big-endian; safetensors data is little-endian and intuitor does not byte-swap');
}

/** A short description of a JSON value for error messages. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing (missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array ${clip(JSON.stringify(value))}`;
  if (typeof value === 'object') return `an object ${clip(JSON.stringify(value))}`;
  return `${typeof value} ${clip(JSON.stringify(value))}`;
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads exactly buffer.length bytes at position, or throws (the file got shorter). */
export function readExactly(fd: number, buffer: Uint8Array, position: number, file: string, what: string): void {
  let done = 0;
  while (done < buffer.length) {
    const n = fs.readSync(fd, buffer, done, Math.min(buffer.length - done, 1 << 30), position + done);
    if (n === 0) throw new SafetensorsError(file, `truncated while reading ${what}: expected ${buffer.length} bytes at offset ${position}, got ${done} (did the file change after it was opened?)`);
    done += n;
  }
}

/** Reads and strictly validates the header of an open file of fileSize bytes. */
export function readHeader(fd: number, fileSize: number, file: string): ParsedHeader {
  if (fileSize < 8) throw new SafetensorsError(file, `file is ${fileSize} bytes, shorter than the 8-byte header length that starts every safetensors file`);
  const prefix = Buffer.alloc(8);
  readExactly(fd, prefix, 0, file, 'the header length');
  const length = prefix.readBigUInt64LE(0);
  if (length > BigInt(maxHeaderBytes)) {
    throw new SafetensorsError(file, `header length ${length} is above the ${maxHeaderBytes}-byte limit (not a safetensors file, or a corrupt one)`);
  }
  const headerLength = Number(length);
  if (8 + headerLength > fileSize) {
    throw new SafetensorsError(file, `header length ${headerLength} runs past the end of the file (truncated: expected at least ${8 + headerLength} bytes, file has ${fileSize})`);
  }
  const bytes = Buffer.alloc(headerLength);
  readExactly(fd, bytes, 8, file, 'the header');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SafetensorsError(file, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SafetensorsError(file, `header is not valid JSON (${(error as Error).message}); it begins ${clip(JSON.stringify(text))}`);
  }
  if (!isPlainObject(json)) throw new SafetensorsError(file, `header must be a JSON object, found ${describe(json)}`);
  return validateHeader(json, 8 + headerLength, fileSize, file);
}

function validateHeader(json: Record<string, unknown>, dataStart: number, fileSize: number, file: string): ParsedHeader {
  let metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = validateMetadata(value, file);
      continue;
    }
    entries.push(validateEntry(name, value, file));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  let previous: HeaderEntry | undefined;
  for (const entry of entries) {
    if (entry.begin < expected) {
      throw new SafetensorsError(file, `tensors "${previous!.name}" data_offsets [${previous!.begin}, ${previous!.end}] and "${entry.name}" data_offsets [${entry.begin}, ${entry.end}] overlap`, { tensor: entry.name });
    }
    if (entry.begin > expected) {
      throw new SafetensorsError(file, `tensor "${entry.name}" data_offsets [${entry.begin}, ${entry.end}] leave a gap: expected it to begin at ${expected}, where ${previous ? `"${previous.name}" ends` : 'the data starts'}`, { tensor: entry.name });
    }
    expected = entry.end;
    previous = entry;
  }
  const needed = dataStart + expected;
  if (needed > fileSize) {
    const first = entries.find((e) => dataStart + e.end > fileSize)!;
    throw new SafetensorsError(file, `truncated: expected at least ${needed} bytes, file has ${fileSize} (tensor "${first.name}" data_offsets [${first.begin}, ${first.end}] end at byte ${dataStart + first.end})`, { tensor: first.name });
  }
  if (needed < fileSize) {
    throw new SafetensorsError(file, `${fileSize - needed} bytes of unexpected data after the last tensor: the header's data_offsets end at byte ${needed}, the file has ${fileSize}`);
  }
  return { dataStart, entries, metadata };
}

function validateMetadata(value: unknown, file: string): Record<string, string> {
  if (!isPlainObject(value)) throw new SafetensorsError(file, `"__metadata__" must be an object of strings, found ${describe(value)}`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new SafetensorsError(file, `"__metadata__" must map strings to strings, found "${key}": ${describe(v)}`);
  }
  return { ...(value as Record<string, string>) };
}

function validateEntry(name: string, value: unknown, file: string): HeaderEntry {
  const fail = (message: string): never => {
    throw new SafetensorsError(file, `tensor "${name}": ${message}`, { tensor: name });
  };
  if (!isPlainObject(value)) return fail(`expected an object {dtype, shape, data_offsets}, found ${describe(value)}`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string') return fail(`"dtype" must be a string, found ${describe(dtype)}`);
  if (!Object.hasOwn(dtypeSpecs, dtype)) {
    return fail(`unsupported dtype "${dtype}" (intuitor reads ${supportedDTypes.join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) return fail(`"shape" must be an array of non-negative integers, found ${describe(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    return fail(`"data_offsets" must be [begin, end] with 0 <= begin <= end, found ${describe(offsets)}`);
  }
  const stored = dtype as SafetensorsDType;
  const size = dtypeSpecs[stored].size;
  const numel = (shape as number[]).reduce((a, b) => a * b, 1);
  const needed = numel * size;
  if (!Number.isSafeInteger(needed)) return fail(`shape ${JSON.stringify(shape)} is too large to address`);
  const [begin, end] = offsets as [number, number];
  if (end - begin !== needed) {
    return fail(`data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but shape ${JSON.stringify(shape)} of ${stored} needs ${needed} (${numel} elements x ${size} bytes)`);
  }
  return { name, stored, shape: Object.freeze([...(shape as number[])]), begin, end };
}

/** Orders tensors as the reference writer does: by descending dtype alignment, then by name (UTF-8 bytes). */
export function compareForWriting(a: { name: string; stored: SafetensorsDType }, b: { name: string; stored: SafetensorsDType }): number {
  return dtypeSpecs[b.stored].rank - dtypeSpecs[a.stored].rank || Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
}

/**
 * The 8-byte length and the header for entries already in data order, as the reference writer lays it
 * out: compact JSON, "__metadata__" first, then the tensors in data order, padded with spaces to a
 * multiple of 8 bytes so that the data starts aligned.
 */
export function serializeHeader(entries: readonly HeaderEntry[], metadata: Record<string, string>): Buffer {
  const parts: string[] = [];
  // Built by hand: a JS object would move integer-like names ("0", "1") ahead of the others.
  if (Object.keys(metadata).length > 0) {
    parts.push(`"__metadata__":{${Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  }
  for (const e of entries) {
    parts.push(`${JSON.stringify(e.name)}:{"dtype":"${e.stored}","shape":${JSON.stringify(e.shape)},"data_offsets":[${e.begin},${e.end}]}`);
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Buffer.alloc(8 + Math.ceil(json.length / 8) * 8, 0x20);
  padded.writeBigUInt64LE(BigInt(padded.length - 8), 0);
  json.copy(padded, 8);
  return padded;
}
