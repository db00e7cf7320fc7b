// Writing safetensors files and (sharded) checkpoints, as Hugging Face lays them out.
//
// A file's tensors are ordered by descending dtype alignment, then by name (the reference writer's
// order; for a single-dtype checkpoint, plain name order), packed with no gaps after a header padded
// with spaces to a multiple of 8 bytes. Every file is written to a temporary file in the same
// folder, fsynced and renamed over the final name, so a crash or an error never leaves a partial
// file there. Tensors are copied out one at a time (t.bytes()): memory holds at most one tensor's
// bytes beyond the tensors themselves.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as torch from '../torch/index.ts';
import type { Tensor } from '../torch/index.ts';
import {
  assertLittleEndian,
  compareForWriting,
  describe,
  indexFileName,
  SafetensorsError,
  serializeHeader,
  shardFileName,
  shardFilePattern,
  singleFileName,
  storedDTypeOf,
  type HeaderEntry,
  type SafetensorsDType,
} from './safetensors-format.ts';

/** Tensors by name; a Map or a plain object. */
export type TensorDict = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

export interface SaveCheckpointOptions {
  /** Largest data size of one shard, in bytes (Hugging Face's default, "5GB": 5e9). A larger tensor gets a shard of its own. */
  maxShardBytes?: number;
  /** Added to every file's "__metadata__" (which always has format: "pt" unless this overrides it). */
  metadata?: Record<string, string>;
}

export interface SavedCheckpoint {
  /** the .safetensors files written, in shard order */
  files: string[];
  /** the index file, when the checkpoint is sharded */
  index: string | undefined;
  /** bytes of tensor data over all files (the index's metadata.total_size) */
  totalSize: number;
}

interface Planned {
  name: string;
  tensor: Tensor;
  stored: SafetensorsDType;
  shape: readonly number[];
  byteLength: number;
}

/** Validates names and tensors up front, before any file is created; keeps the caller's order. */
function plan(tensors: TensorDict, where: string): Planned[] {
  const pairs: [string, unknown][] = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  return pairs.map(([name, tensor]) => {
    if (typeof name !== 'string' || name === '') throw new SafetensorsError(where, `tensor names must be non-empty strings, found ${describe(name)}`);
    if (name === '__metadata__') throw new SafetensorsError(where, 'a tensor cannot be named "__metadata__" (the key is reserved for the metadata)', { tensor: name });
    if (!(tensor instanceof torch.Tensor)) throw new SafetensorsError(where, `tensor "${name}" is not a Tensor, found ${describe(tensor)}`, { tensor: name });
    if (tensor.isDisposed) throw new SafetensorsError(where, `tensor "${name}" is disposed`, { tensor: name });
    const shape = [...tensor.shape];
    const stored = storedDTypeOf[tensor.dtype];
    return { name, tensor, stored, shape, byteLength: tensor.numel * torch.elementSize(tensor.dtype) };
  });
}

function mergeMetadata(metadata: Record<string, string> | undefined, where: string): Record<string, string> {
  const merged: Record<string, string> = { format: 'pt', ...metadata };
  for (const [key, value] of Object.entries(merged)) {
    if (typeof value !== 'string') throw new SafetensorsError(where, `metadata values must be strings, found "${key}": ${describe(value)}`);
  }
  return merged;
}

function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30));
}

function removeQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // already gone
  }
}

/** Writes a temporary sibling of `file` by calling fill(fd), fsyncs it and returns its path; on error removes it. */
function writeTemp(file: string, fill: (fd: number) => void): string {
  const temp = tempPathFor(file);
  let fd: number | undefined;
  try {
    fd = fs.openSync(temp, 'wx', 0o644);
    fill(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    return temp;
  } catch (error) {
    if (fd !== undefined) fs.closeSync(fd);
    removeQuietly(temp);
    throw error instanceof SafetensorsError ? error : new SafetensorsError(file, `writing failed: ${(error as Error).message}`, { cause: error });
  }
}

/** The tensors in file order with their offsets, the header, and a temporary file holding it all. */
function writeTensorsTemp(file: string, planned: readonly Planned[], metadata: Record<string, string>): string {
  const ordered = [...planned].sort(compareForWriting);
  let offset = 0;
  const entries: HeaderEntry[] = ordered.map((p) => {
    const entry = { name: p.name, stored: p.stored, shape: p.shape, begin: offset, end: offset + p.byteLength };
    offset = entry.end;
    return entry;
  });
  const header = serializeHeader(entries, metadata);
  return writeTemp(file, (fd) => {
    writeAll(fd, header);
    for (const p of ordered) {
      let bytes: Uint8Array;
      try {
        bytes = p.tensor.bytes();
      } catch (error) {
        throw new SafetensorsError(file, `writing failed at tensor "${p.name}": ${(error as Error).message}`, { tensor: p.name, cause: error });
      }
      if (bytes.length !== p.byteLength) {
        throw new SafetensorsError(file, `tensor "${p.name}" gave ${bytes.length} bytes, expected ${p.byteLength} (did it change while being written?)`, { tensor: p.name });
      }
      writeAll(fd, bytes);
    }
  });
}

function syncFolder(folder: string): void {
  // Makes the renames durable. Not every platform can fsync a directory; the rename is atomic regardless.
  try {
    const fd = fs.openSync(folder, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // best effort
  }
}

/** Renames each temporary file over its final name, in order; on failure removes the temporaries left. */
function commit(pairs: readonly [temp: string, final: string][]): void {
  for (let i = 0; i < pairs.length; i++) {
    const [temp, final] = pairs[i]!;
    try {
      fs.renameSync(temp, final);
    } catch (error) {
      for (const [left] of pairs.slice(i)) removeQuietly(left);
      throw new SafetensorsError(final, `cannot move the written file into place: ${(error as Error).message}`, { cause: error });
    }
  }
}

/**
 * Writes tensors to one .safetensors file. The "__metadata__" is {format: "pt"} merged with
 * `metadata`. Atomic: the file appears complete under `file`, or `file` is left as it was.
 */
export function writeSafetensors(file: string, tensors: TensorDict, metadata?: Record<string, string>): void {
  assertLittleEndian();
  const planned = plan(tensors, file);
  const merged = mergeMetadata(metadata, file);
  commit([[writeTensorsTemp(file, planned, merged), file]]);
  syncFolder(path.dirname(file));
}

/** Hugging Face's shard split (huggingface_hub): caller's order, a new shard when the next tensor would overflow. */
function splitShards(planned: readonly Planned[], maxShardBytes: number): Planned[][] {
  const shards: Planned[][] = [];
  let current: Planned[] = [];
  let size = 0;
  for (const p of planned) {
    if (p.byteLength > maxShardBytes) {
      shards.push([p]);
      continue;
    }
    if (size + p.byteLength > maxShardBytes && current.length > 0) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(p);
    size += p.byteLength;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

/** The index as transformers writes it: json.dumps(index, indent=2, sort_keys=True) + "\n". */
function indexText(totalSize: number, weightMap: readonly [string, string][]): string {
  const sorted = [...weightMap].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const lines = sorted.map(([name, file]) => `    ${JSON.stringify(name)}: ${JSON.stringify(file)}`);
  return `{\n  "metadata": {\n    "total_size": ${totalSize}\n  },\n  "weight_map": {\n${lines.join(',\n')}\n  }\n}\n`;
}

/**
 * Saves tensors as a Hugging Face checkpoint folder: model.safetensors when the data fits in
 * maxShardBytes, else model-00001-of-0000N.safetensors shards and model.safetensors.index.json.
 * Every file is written to a temporary name first; only when all are complete are they renamed,
 * shards before the index, and then the files of an earlier checkpoint in the folder that the new
 * one does not use (model.safetensors, the index, model-*-of-*.safetensors) are removed. An error
 * before the renames leaves the folder as it was.
 */
export function saveCheckpoint(dir: string, tensors: TensorDict, options: SaveCheckpointOptions = {}): SavedCheckpoint {
  assertLittleEndian();
  const maxShardBytes = options.maxShardBytes ?? 5e9;
  if (typeof maxShardBytes !== 'number' || !(maxShardBytes > 0)) throw new SafetensorsError(dir, `maxShardBytes must be a positive number, found ${describe(maxShardBytes)}`);
  const planned = plan(tensors, dir);
  const metadata = mergeMetadata(options.metadata, dir);
  fs.mkdirSync(dir, { recursive: true });
  const shards = splitShards(planned, maxShardBytes);
  const names = shards.length === 1 ? [singleFileName] : shards.map((_, i) => shardFileName(i + 1, shards.length));
  const files = names.map((name) => path.join(dir, name));
  const totalSize = planned.reduce((sum, p) => sum + p.byteLength, 0);
  const pairs: [string, string][] = [];
  try {
    shards.forEach((shard, i) => pairs.push([writeTensorsTemp(files[i]!, shard, metadata), files[i]!]));
    if (shards.length > 1) {
      const weightMap = shards.flatMap((shard, i) => shard.map((p): [string, string] => [p.name, names[i]!]));
      const indexPath = path.join(dir, indexFileName);
      pairs.push([writeTemp(indexPath, (fd) => writeAll(fd, Buffer.from(indexText(totalSize, weightMap), 'utf8'))), indexPath]);
    }
  } catch (error) {
    for (const [temp] of pairs) removeQuietly(temp);
    throw error;
  }
  commit(pairs);
  const written = new Set(pairs.map(([, final]) => path.basename(final)));
  for (const entry of fs.readdirSync(dir)) {
    if ((entry === singleFileName || entry === indexFileName || shardFilePattern.test(entry)) && !written.has(entry)) removeQuietly(path.join(dir, entry));
  }
  syncFolder(dir);
  return { files, index: shards.length > 1 ? path.join(dir, indexFileName) : undefined, totalSize };
}
