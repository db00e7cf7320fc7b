// Safetensors checkpoints: Hugging Face's tensor file format, read lazily and written atomically.
//
//   const ckpt = openCheckpoint('models/qwen2-tiny');          // model.safetensors or a sharded index
//   ckpt.info('model.embed_tokens.weight');                     // {dtype, storedDtype, shape, byteLength, file}
//   const w = ckpt.load('model.embed_tokens.weight', { dtype: 'float32' }).keep();
//   ckpt.close();
//   saveCheckpoint('out', new Map([['w', w]]), { maxShardBytes: 5e9 });
//
// Opening a file reads only its 8-byte length and its JSON header, which is validated strictly (see
// safetensors-format.ts); `load` reads one tensor's bytes at its offset. Nothing reads a whole file.
// Files hold the engine's dtypes (F32 F64 BF16 F16 I64 I32 U8 BOOL); I16 and I8 load widened to
// int32; any other dtype is refused when the file is opened. Writing lives in safetensors-write.ts.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as torch from '../torch/index.ts';
import type { DType, Tensor } from '../torch/index.ts';
import { assertLittleEndian, describe, dtypeSpecs, indexFileName, readExactly, readHeader, SafetensorsError, singleFileName, type HeaderEntry, type SafetensorsDType } from './safetensors-format.ts';

export { SafetensorsError, supportedDTypes, singleFileName, indexFileName, type SafetensorsDType } from './safetensors-format.ts';
export { writeSafetensors, saveCheckpoint, type TensorDict, type SaveCheckpointOptions, type SavedCheckpoint } from './safetensors-write.ts';

export interface TensorInfo {
  /** the engine dtype that `load` returns without a dtype option */
  dtype: DType;
  /** the dtype as stored in the file */
  storedDtype: SafetensorsDType;
  shape: readonly number[];
  /** bytes in the file */
  byteLength: number;
  /** the file that holds it */
  file: string;
}

export interface LoadOptions {
  /** convert to this dtype after reading (default: the stored dtype, see TensorInfo.dtype) */
  dtype?: DType;
  /** 'cpu' (default), 'cuda', 'cuda:N' */
  device?: string;
}

/** What a single file and a (possibly sharded) checkpoint have in common. */
export interface TensorSource extends Disposable {
  /** tensor names, in data order (shard by shard for a sharded checkpoint) */
  readonly names: readonly string[];
  /** a file's "__metadata__" ({} when absent), or a sharded checkpoint's index "metadata" */
  readonly metadata: Readonly<Record<string, unknown>>;
  has(name: string): boolean;
  info(name: string): TensorInfo;
  /** A new tensor with a copy of the stored values; the caller disposes it (or a scope does). */
  load(name: string, options?: LoadOptions): Tensor;
  close(): void;
}

/** One .safetensors file, open for reading. */
export class SafetensorsFile implements TensorSource {
  readonly path: string;
  readonly names: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly #entries: Map<string, HeaderEntry>;
  readonly #dataStart: number;
  #fd: number | undefined;

  private constructor(file: string, fd: number, dataStart: number, entries: HeaderEntry[], metadata: Record<string, string>) {
    this.path = file;
    this.#fd = fd;
    this.#dataStart = dataStart;
    this.#entries = new Map(entries.map((e) => [e.name, e]));
    this.names = Object.freeze(entries.map((e) => e.name));
    this.metadata = Object.freeze(metadata);
  }

  /** Opens a file and validates its header; reads nothing else. */
  static open(file: string): SafetensorsFile {
    assertLittleEndian();
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (error) {
      throw new SafetensorsError(file, `cannot open: ${(error as Error).message}`, { cause: error });
    }
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw new SafetensorsError(file, 'not a regular file');
      const header = readHeader(fd, stat.size, file);
      return new SafetensorsFile(file, fd, header.dataStart, header.entries, header.metadata);
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
  }

  get closed(): boolean {
    return this.#fd === undefined;
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  info(name: string): TensorInfo {
    const e = this.#entry(name);
    return { dtype: dtypeSpecs[e.stored].dtype, storedDtype: e.stored, shape: e.shape, byteLength: e.end - e.begin, file: this.path };
  }

  /** The tensor's bytes exactly as stored (little-endian, row-major). */
  readBytes(name: string): Buffer {
    const e = this.#entry(name);
    if (this.#fd === undefined) throw new SafetensorsError(this.path, `cannot read tensor "${name}": the file is closed`, { tensor: name });
    // allocUnsafeSlow: an unpooled buffer at offset 0, so typed-array views of it are aligned.
    const bytes = Buffer.allocUnsafeSlow(e.end - e.begin);
    readExactly(this.#fd, bytes, this.#dataStart + e.begin, this.path, `tensor "${name}"`);
    return bytes;
  }

  load(name: string, options: LoadOptions = {}): Tensor {
    const e = this.#entry(name);
    if (options.dtype !== undefined && !torch.dtypes.includes(options.dtype)) {
      throw new TypeError(`load("${name}"): unknown dtype ${describe(options.dtype)}: expected one of ${torch.dtypes.join(', ')}`);
    }
    let bytes: Uint8Array | Int32Array = this.readBytes(name);
    if (e.stored === 'I16' || e.stored === 'I8') {
      // No engine dtype: widen to int32 (exact).
      const narrow = e.stored === 'I16' ? new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2) : new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
      bytes = Int32Array.from(narrow);
    }
    const base = torch.fromBytes(bytes, e.shape, dtypeSpecs[e.stored].dtype, options.device ?? 'cpu');
    if (options.dtype === undefined || options.dtype === base.dtype) return base;
    try {
      return base.to(options.dtype);
    } finally {
      base.dispose();
    }
  }

  close(): void {
    if (this.#fd === undefined) return;
    fs.closeSync(this.#fd);
    this.#fd = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #entry(name: string): HeaderEntry {
    const e = this.#entries.get(name);
    if (e === undefined) throw new SafetensorsError(this.path, `no tensor named "${name}" (the file has ${this.#entries.size})`, { tensor: name });
    return e;
  }
}

/** A checkpoint folder (or one file) read through one names/info/load API. */
export class Checkpoint implements TensorSource {
  /** the folder, or the file when a file was opened */
  readonly location: string;
  /** the .safetensors files, shard order */
  readonly files: readonly string[];
  readonly names: readonly string[];
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly #shards: readonly SafetensorsFile[];
  readonly #byName: ReadonlyMap<string, SafetensorsFile>;

  /** @internal use openCheckpoint */
  constructor(location: string, shards: SafetensorsFile[], byName: Map<string, SafetensorsFile>, metadata: Record<string, unknown>) {
    this.location = location;
    this.#shards = shards;
    this.#byName = byName;
    this.files = Object.freeze(shards.map((s) => s.path));
    this.names = Object.freeze(shards.flatMap((s) => s.names.filter((n) => byName.get(n) === s)));
    this.metadata = Object.freeze(metadata);
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }
  info(name: string): TensorInfo {
    return this.#shard(name).info(name);
  }
  load(name: string, options?: LoadOptions): Tensor {
    return this.#shard(name).load(name, options);
  }
  readBytes(name: string): Buffer {
    return this.#shard(name).readBytes(name);
  }
  close(): void {
    for (const s of this.#shards) s.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }

  #shard(name: string): SafetensorsFile {
    const shard = this.#byName.get(name);
    if (shard === undefined) throw new SafetensorsError(this.location, `no tensor named "${name}" in this checkpoint (it has ${this.#byName.size})`, { tensor: name });
    return shard;
  }
}

/**
 * Opens a checkpoint: a folder with model.safetensors (preferred, as Hugging Face does) or
 * model.safetensors.index.json and its shards; or directly a .safetensors file or an index file.
 * Every shard's header is validated and every tensor of the index must be in its shard.
 */
export function openCheckpoint(location: string): Checkpoint {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(location);
  } catch (error) {
    throw new SafetensorsError(location, `cannot open checkpoint: ${(error as Error).message}`, { cause: error });
  }
  if (stat.isDirectory()) {
    const single = path.join(location, singleFileName);
    if (fs.existsSync(single)) return singleFile(location, single);
    const index = path.join(location, indexFileName);
    if (fs.existsSync(index)) return sharded(location, index);
    throw new SafetensorsError(location, `not a safetensors checkpoint: found neither ${singleFileName} nor ${indexFileName}`);
  }
  return location.endsWith('.json') ? sharded(location, location) : singleFile(location, location);
}

function singleFile(location: string, file: string): Checkpoint {
  const f = SafetensorsFile.open(file);
  return new Checkpoint(location, [f], new Map(f.names.map((n) => [n, f])), f.metadata);
}

function sharded(location: string, indexPath: string): Checkpoint {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(indexPath, 'utf8'));
  } catch (error) {
    throw new SafetensorsError(indexPath, `cannot read the index: ${(error as Error).message}`, { cause: error });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new SafetensorsError(indexPath, `the index must be a JSON object, found ${describe(json)}`);
  const { metadata = {}, weight_map: weightMap } = json as Record<string, unknown>;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new SafetensorsError(indexPath, `"metadata" must be an object, found ${describe(metadata)}`);
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new SafetensorsError(indexPath, `"weight_map" must be an object {tensor name: shard file}, found ${describe(weightMap)}`);
  }
  const shardNames = new Map<string, string>(); // shard file -> first tensor mapped to it
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string') throw new SafetensorsError(indexPath, `"weight_map" maps tensor "${name}" to ${describe(shard)}, expected a shard file name`, { tensor: name });
    if (shard === '' || shard === '.' || shard === '..' || shard.includes('/') || shard.includes('\\')) {
      throw new SafetensorsError(indexPath, `"weight_map" maps tensor "${name}" to "${shard}", which is not a file name in the checkpoint folder`, { tensor: name });
    }
    if (!shardNames.has(shard)) shardNames.set(shard, name);
  }
  const folder = path.dirname(indexPath);
  const shards: SafetensorsFile[] = [];
  try {
    for (const [shard, firstTensor] of [...shardNames].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const file = path.join(folder, shard);
      if (!fs.existsSync(file)) {
        throw new SafetensorsError(indexPath, `shard "${shard}" (holding tensor "${firstTensor}") is missing: no file ${file}`, { tensor: firstTensor });
      }
      shards.push(SafetensorsFile.open(file));
    }
    const byFile = new Map(shards.map((s) => [path.basename(s.path), s]));
    const byName = new Map<string, SafetensorsFile>();
    for (const [name, shard] of Object.entries(weightMap as Record<string, string>)) {
      const file = byFile.get(shard)!;
      if (!file.has(name)) {
        throw new SafetensorsError(indexPath, `tensor "${name}" is mapped to shard "${shard}", but that shard has no such tensor (${file.path})`, { tensor: name });
      }
      byName.set(name, file);
    }
    return new Checkpoint(location, shards, byName, metadata as Record<string, unknown>);
  } catch (error) {
    for (const s of shards) s.close();
    throw error;
  }
}
