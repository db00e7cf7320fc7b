// Creating tensors: from JS data, filled, ranges and random.
//
// Default dtypes: JS numbers -> float32 (the model dtype; pass dtype: 'int64' for ids), booleans
// -> bool, bigints -> int64; a typed array keeps its own type (Float64Array -> float64, ...).

import { native, type DTypeCode } from './native.ts';
import { dtypeCode, dtypeOfTypedArray, type AnyTypedArray, type DType } from './dtype.ts';
import { Tensor, wrap, type ScalarLike } from './tensor.ts';
import type { Generator } from './random.ts';

export interface TensorOptions {
  dtype?: DType;
  /** 'cpu' (default), 'cuda', 'cuda:N' */
  device?: string;
  requiresGrad?: boolean;
}

export interface RandomOptions extends TensorOptions {
  generator?: Generator;
}

type Nested = number | boolean | bigint | readonly Nested[];

function finish(t: Tensor, options: TensorOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad_(true);
  return t;
}

function checkShape(shape: readonly number[], where: string): readonly number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new TypeError(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return shape;
}

function shapeOf(data: Nested): number[] {
  const shape: number[] = [];
  let level: Nested = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = (level as readonly Nested[])[0] as Nested;
  }
  return shape;
}

function flatten(data: Nested, shape: number[], where: string): (number | boolean | bigint)[] {
  const out: (number | boolean | bigint)[] = [];
  const walk = (value: Nested, dim: number, path: string): void => {
    if (dim === shape.length) {
      if (Array.isArray(value)) throw new TypeError(`${where}: ragged nested array at ${path}: expected a scalar`);
      out.push(value as number | boolean | bigint);
      return;
    }
    if (!Array.isArray(value) || value.length !== shape[dim]) {
      throw new TypeError(`${where}: ragged nested array at ${path}: expected ${shape[dim]} elements, got ${Array.isArray(value) ? value.length : 'a scalar'}`);
    }
    value.forEach((v, i) => walk(v, dim + 1, `${path}[${i}]`));
  };
  walk(data, 0, 'data');
  return out;
}

/** A tensor holding a copy of the bytes, interpreted as `dtype` elements of `shape`. */
export function fromBytes(bytes: Uint8Array | AnyTypedArray, shape: readonly number[], dtype: DType, device = 'cpu'): Tensor {
  return wrap(native.fromBytes(bytes, checkShape(shape, 'fromBytes'), dtypeCode(dtype), device));
}

/**
 * A tensor from nested arrays, a scalar or a typed array (then `shape` says its shape; default 1-D).
 * Values are converted to `dtype` (see the module header for defaults).
 */
export function tensor(data: Nested | AnyTypedArray, options: TensorOptions & { shape?: readonly number[] } = {}): Tensor {
  const device = options.device ?? 'cpu';
  if (ArrayBuffer.isView(data)) {
    const own = dtypeOfTypedArray(data as AnyTypedArray);
    const shape = checkShape(options.shape ?? [(data as AnyTypedArray).length], 'tensor');
    const base = fromBytes(data as AnyTypedArray, shape, own, 'cpu');
    return finish(convert(base, options.dtype ?? own, device), options);
  }
  const shape = shapeOf(data as Nested);
  const flat = flatten(data as Nested, shape, 'tensor');
  const first = flat[0];
  const dtype: DType = options.dtype ?? (typeof first === 'boolean' ? 'bool' : typeof first === 'bigint' ? 'int64' : 'float32');
  let host: AnyTypedArray;
  let hostDtype: DType;
  if (dtype === 'int64' || dtype === 'int32' || dtype === 'uint8') {
    host = BigInt64Array.from(flat, (v) => {
      if (typeof v === 'number' && !Number.isInteger(v)) throw new TypeError(`tensor: ${v} is not an integer, but dtype is ${dtype}`);
      return BigInt(v);
    });
    hostDtype = 'int64';
  } else if (dtype === 'bool') {
    host = Uint8Array.from(flat, (v) => (v ? 1 : 0));
    hostDtype = 'uint8';
  } else {
    host = Float64Array.from(flat, Number);
    hostDtype = 'float64';
  }
  const base = fromBytes(host, options.shape ?? shape, hostDtype, 'cpu');
  return finish(convert(base, dtype, device), options);
}

// Converts (and moves) a fresh tensor, disposing the intermediate.
function convert(base: Tensor, dtype: DType, device: string): Tensor {
  let out = base;
  if (out.dtype !== dtype) {
    const next = out.to(dtype);
    if (out !== base) out.dispose();
    out = next;
  }
  if (device !== 'cpu') {
    const next = out.to(device);
    if (out !== base) out.dispose();
    out = next;
  }
  if (out !== base) base.dispose();
  return out;
}

// The dtype code and device that every filled, range and random creation function ends with.
function placement(options: TensorOptions): [dtype: DTypeCode, device: string] {
  return [dtypeCode(options.dtype ?? 'float32'), options.device ?? 'cpu'];
}

export function empty(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return finish(wrap(native.empty(checkShape(shape, 'empty'), ...placement(options))), options);
}
export function zeros(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return finish(wrap(native.zeros(checkShape(shape, 'zeros'), ...placement(options))), options);
}
export function ones(shape: readonly number[], options: TensorOptions = {}): Tensor {
  return finish(wrap(native.ones(checkShape(shape, 'ones'), ...placement(options))), options);
}
export function full(shape: readonly number[], value: ScalarLike, options: TensorOptions = {}): Tensor {
  return finish(wrap(native.full(checkShape(shape, 'full'), value, ...placement(options))), options);
}
/** Values start, start+step, ... below end. arange(end) starts at 0. Default dtype as torch: int64 when every argument is an integer, else float32. */
export function arange(startOrEnd: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  const [start, stop] = end === undefined ? [0, startOrEnd] : [startOrEnd, end];
  const withDtype: TensorOptions = { dtype: [start, stop, step].every(Number.isInteger) ? 'int64' : 'float32', ...options };
  return finish(wrap(native.arange(start, stop, step, ...placement(withDtype))), withDtype);
}
/** Uniform on [0, 1). */
export function rand(shape: readonly number[], options: RandomOptions = {}): Tensor {
  return finish(wrap(native.rand(checkShape(shape, 'rand'), options.generator?.handle, ...placement(options))), options);
}
/** Standard normal. */
export function randn(shape: readonly number[], options: RandomOptions = {}): Tensor {
  return finish(wrap(native.randn(checkShape(shape, 'randn'), options.generator?.handle, ...placement(options))), options);
}
/** Integers uniform on [low, high). Default dtype int64. */
export function randint(low: number, high: number, shape: readonly number[], options: RandomOptions = {}): Tensor {
  const withDtype: RandomOptions = { dtype: 'int64', ...options };
  return finish(wrap(native.randint(low, high, checkShape(shape, 'randint'), options.generator?.handle, ...placement(withDtype))), withDtype);
}
/** A random permutation of 0..n-1. Default dtype int64. */
export function randperm(n: number, options: RandomOptions = {}): Tensor {
  const withDtype: RandomOptions = { dtype: 'int64', ...options };
  return finish(wrap(native.randperm(n, options.generator?.handle, ...placement(withDtype))), withDtype);
}
export function zerosLike(t: Tensor): Tensor {
  return wrap(native.zerosLike(t.handle));
}
export function onesLike(t: Tensor): Tensor {
  return wrap(native.onesLike(t.handle));
}
export function fullLike(t: Tensor, value: ScalarLike): Tensor {
  return wrap(native.fullLike(t.handle, value));
}
export function emptyLike(t: Tensor): Tensor {
  return wrap(native.emptyLike(t.handle));
}
