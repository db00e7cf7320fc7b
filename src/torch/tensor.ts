// The Tensor class: a handle to a native at::Tensor with PyTorch's methods in camelCase.
//
// Every method returns a new Tensor (registered in the current scope, see scope.ts), except the
// in-place ones ending in `_`, which return `this`. Shapes, dtypes and devices are read once per
// tensor and cached: no method changes them in place.

import { native, type BinaryOp, type BinaryScalarOp, type NativeHandle } from './native.ts';
import { dtypeCode, dtypeFromCode, hostDType, isDType, typedArrayFor, type DType, type AnyTypedArray } from './dtype.ts';
import { track, type Disposable } from './scope.ts';
import type { Generator } from './random.ts';

export type Dims = number | readonly number[];
export type ScalarLike = number | bigint | boolean;

/** The values and their indices, from max/min along a dim, topk and sort. */
export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

// A dim or a list of dims as the addon takes them (a list); only an absent one stays absent.
function dimList(dims: Dims): readonly number[];
function dimList(dims: Dims | undefined): readonly number[] | undefined;
function dimList(dims: Dims | undefined): readonly number[] | undefined {
  return dims === undefined ? undefined : typeof dims === 'number' ? [dims] : dims;
}
const flatShape = (shape: (number | readonly number[])[]): number[] => (shape.length === 1 && Array.isArray(shape[0]) ? [...shape[0]] : (shape as number[]));

export class Tensor implements Disposable {
  /** @internal the native handle; stays set after dispose (the addon reports use-after-dispose) */
  readonly handle: NativeHandle;
  kept = false;
  #disposed = false;
  #shape: readonly number[] | undefined;
  #dtype: DType | undefined;
  #device: string | undefined;

  /** @internal use the creation functions (torch.tensor, torch.zeros, ...) */
  constructor(handle: NativeHandle) {
    this.handle = handle;
    track(this);
  }

  // ---- metadata -------------------------------------------------------------------------------

  #loadMeta(): void {
    const [shape, code, device] = native.meta(this.handle);
    this.#shape = Object.freeze(shape);
    this.#dtype = dtypeFromCode(code);
    this.#device = device;
  }
  get shape(): readonly number[] {
    if (this.#shape === undefined) this.#loadMeta();
    return this.#shape!;
  }
  get dtype(): DType {
    if (this.#dtype === undefined) this.#loadMeta();
    return this.#dtype!;
  }
  get device(): string {
    if (this.#device === undefined) this.#loadMeta();
    return this.#device!;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  size(dim: number): number {
    const d = dim < 0 ? dim + this.ndim : dim;
    if (d < 0 || d >= this.ndim) throw new RangeError(`size(${dim}): dim out of range for a tensor of shape [${this.shape.join(', ')}]`);
    return this.shape[d]!;
  }
  get strides(): number[] {
    return native.strides(this.handle);
  }
  isContiguous(): boolean {
    return native.isContiguous(this.handle);
  }
  toString(): string {
    return `Tensor(shape=[${this.isDisposed ? '?' : this.shape.join(', ')}], dtype=${this.#dtype ?? '?'}, device=${this.#device ?? '?'}${this.#disposed ? ', disposed' : ''})`;
  }

  // ---- memory ---------------------------------------------------------------------------------

  get isDisposed(): boolean {
    return this.#disposed;
  }
  /** Releases the native tensor now. Safe to call twice. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    native.dispose(this.handle);
  }
  /** `using t = ...` disposes t at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }
  /** Excludes this tensor from every scope's cleanup; you dispose it. */
  keep(): this {
    this.kept = true;
    return this;
  }

  // ---- data out -------------------------------------------------------------------------------

  /** A copy of the elements, row-major, in the typed array of the dtype (see dtype.ts): bfloat16/float16 widen to Float32Array, bool is 0/1 bytes. */
  toArray(): AnyTypedArray {
    const host = hostDType(this.dtype);
    return host === this.dtype ? typedArrayFor(host, native.toBytes(this.handle)) : this.#convertedBytes(host);
  }
  /** The elements converted to float32. */
  toFloat32Array(): Float32Array {
    return this.dtype === 'float32' ? new Float32Array(native.toBytes(this.handle)) : (this.#convertedBytes('float32') as Float32Array);
  }
  /** The elements converted to float64 (exact for every dtype but int64 beyond 2^53). */
  toFloat64Array(): Float64Array {
    return this.dtype === 'float64' ? new Float64Array(native.toBytes(this.handle)) : (this.#convertedBytes('float64') as Float64Array);
  }
  #convertedBytes(dtype: DType): AnyTypedArray {
    const converted = native.toDtype(this.handle, dtypeCode(dtype));
    try {
      return typedArrayFor(dtype, native.toBytes(converted));
    } finally {
      native.dispose(converted);
    }
  }
  /** The elements as nested arrays of numbers (int64 converted to number) or booleans. */
  tolist(): unknown {
    const flat: AnyTypedArray = this.toArray();
    const values: (number | boolean)[] = this.dtype === 'bool' ? Array.from(flat as Uint8Array, (v) => v !== 0) : Array.from(flat as ArrayLike<number | bigint>, Number);
    const nest = (offset: number, dim: number): unknown => {
      if (dim === this.ndim) return values[offset];
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: this.shape[dim]! }, (_, i) => nest(offset + i * stride, dim + 1));
    };
    return nest(0, 0);
  }
  /** The single element as a number. */
  item(): number {
    return native.item(this.handle);
  }
  /** A copy of the raw bytes (native byte order), e.g. to write safetensors. */
  bytes(): Uint8Array {
    return new Uint8Array(native.toBytes(this.handle));
  }

  // ---- elementwise ----------------------------------------------------------------------------

  // The addon has a tensor-tensor and a tensor-scalar form of each binary op (`mul`, `mulScalar`).
  #binary(tensorOp: BinaryOp, scalarOp: BinaryScalarOp, other: Tensor | ScalarLike): Tensor {
    return other instanceof Tensor ? wrap(tensorOp(this.handle, other.handle)) : wrap(scalarOp(this.handle, other));
  }
  /** this + alpha * other */
  add(other: Tensor | ScalarLike, alpha?: number): Tensor {
    return other instanceof Tensor ? wrap(native.add(this.handle, other.handle, alpha)) : wrap(native.addScalar(this.handle, other, alpha));
  }
  /** this - alpha * other */
  sub(other: Tensor | ScalarLike, alpha?: number): Tensor {
    return other instanceof Tensor ? wrap(native.sub(this.handle, other.handle, alpha)) : wrap(native.subScalar(this.handle, other, alpha));
  }
  /** value - this */
  rsub(value: ScalarLike): Tensor {
    return wrap(native.rsubScalar(this.handle, value));
  }
  mul(other: Tensor | ScalarLike): Tensor {
    return this.#binary(native.mul, native.mulScalar, other);
  }
  div(other: Tensor | ScalarLike): Tensor {
    return this.#binary(native.div, native.divScalar, other);
  }
  pow(exponent: Tensor | ScalarLike): Tensor {
    return this.#binary(native.pow, native.powScalar, exponent);
  }
  remainder(other: Tensor | ScalarLike): Tensor {
    return this.#binary(native.remainder, native.remainderScalar, other);
  }
  floorDivide(other: Tensor | ScalarLike): Tensor {
    return this.#binary(native.floorDivide, native.floorDivideScalar, other);
  }
  eq(other: Tensor | ScalarLike): Tensor {
    return this.#binary(native.eq, native.eqScalar, other);
  }
  ne(other: Tensor | ScalarLike): Tensor {
    return this.#binary(native.ne, native.neScalar, other);
  }
  lt(other: Tensor | ScalarLike): Tensor {
    return this.#binary(native.lt, native.ltScalar, other);
  }
  le(other: Tensor | ScalarLike): Tensor {
    return this.#binary(native.le, native.leScalar, other);
  }
  gt(other: Tensor | ScalarLike): Tensor {
    return this.#binary(native.gt, native.gtScalar, other);
  }
  ge(other: Tensor | ScalarLike): Tensor {
    return this.#binary(native.ge, native.geScalar, other);
  }
  maximum(other: Tensor): Tensor {
    return wrap(native.maximum(this.handle, other.handle));
  }
  minimum(other: Tensor): Tensor {
    return wrap(native.minimum(this.handle, other.handle));
  }
  logicalAnd(other: Tensor): Tensor {
    return wrap(native.logicalAnd(this.handle, other.handle));
  }
  logicalOr(other: Tensor): Tensor {
    return wrap(native.logicalOr(this.handle, other.handle));
  }
  neg(): Tensor { return wrap(native.neg(this.handle)); }
  abs(): Tensor { return wrap(native.abs(this.handle)); }
  exp(): Tensor { return wrap(native.exp(this.handle)); }
  log(): Tensor { return wrap(native.log(this.handle)); }
  log1p(): Tensor { return wrap(native.log1p(this.handle)); }
  expm1(): Tensor { return wrap(native.expm1(this.handle)); }
  sqrt(): Tensor { return wrap(native.sqrt(this.handle)); }
  rsqrt(): Tensor { return wrap(native.rsqrt(this.handle)); }
  square(): Tensor { return wrap(native.square(this.handle)); }
  reciprocal(): Tensor { return wrap(native.reciprocal(this.handle)); }
  sin(): Tensor { return wrap(native.sin(this.handle)); }
  cos(): Tensor { return wrap(native.cos(this.handle)); }
  tanh(): Tensor { return wrap(native.tanh(this.handle)); }
  sigmoid(): Tensor { return wrap(native.sigmoid(this.handle)); }
  relu(): Tensor { return wrap(native.relu(this.handle)); }
  silu(): Tensor { return wrap(native.silu(this.handle)); }
  softplus(): Tensor { return wrap(native.softplus(this.handle)); }
  sign(): Tensor { return wrap(native.sign(this.handle)); }
  floor(): Tensor { return wrap(native.floor(this.handle)); }
  ceil(): Tensor { return wrap(native.ceil(this.handle)); }
  round(): Tensor { return wrap(native.round(this.handle)); }
  isnan(): Tensor { return wrap(native.isnan(this.handle)); }
  isfinite(): Tensor { return wrap(native.isfinite(this.handle)); }
  logicalNot(): Tensor { return wrap(native.logicalNot(this.handle)); }
  /** GELU; approximate 'tanh' is the GPT-2 form. */
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor {
    return wrap(native.gelu(this.handle, approximate));
  }
  clamp(min?: number, max?: number): Tensor {
    return wrap(native.clamp(this.handle, min, max));
  }
  /** Where mask is true, value; elsewhere this. */
  maskedFill(mask: Tensor, value: Tensor | ScalarLike): Tensor {
    return value instanceof Tensor ? wrap(native.maskedFillTensor(this.handle, mask.handle, value.handle)) : wrap(native.maskedFill(this.handle, mask.handle, value));
  }

  // ---- reductions -----------------------------------------------------------------------------

  sum(dim?: Dims, options: { keepdim?: boolean; dtype?: DType } = {}): Tensor {
    return wrap(native.sum(this.handle, dimList(dim), options.keepdim ?? false, options.dtype && dtypeCode(options.dtype)));
  }
  mean(dim?: Dims, options: { keepdim?: boolean; dtype?: DType } = {}): Tensor {
    return wrap(native.mean(this.handle, dimList(dim), options.keepdim ?? false, options.dtype && dtypeCode(options.dtype)));
  }
  prod(dim: number, keepdim = false): Tensor {
    return wrap(native.prod(this.handle, dim, keepdim));
  }
  /** Maximum over dims (all when omitted), values only. */
  amax(dim?: Dims, keepdim = false): Tensor {
    return wrap(native.amax(this.handle, dimList(dim), keepdim));
  }
  amin(dim?: Dims, keepdim = false): Tensor {
    return wrap(native.amin(this.handle, dimList(dim), keepdim));
  }
  /** max() over all elements, or max(dim) with the indices of the maxima. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): ValuesIndices;
  max(dim?: number, keepdim = false): Tensor | ValuesIndices {
    if (dim === undefined) return this.amax();
    const [values, indices] = native.maxDim(this.handle, dim, keepdim);
    return { values: wrap(values), indices: wrap(indices) };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): ValuesIndices;
  min(dim?: number, keepdim = false): Tensor | ValuesIndices {
    if (dim === undefined) return this.amin();
    const [values, indices] = native.minDim(this.handle, dim, keepdim);
    return { values: wrap(values), indices: wrap(indices) };
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return wrap(native.argmax(this.handle, dim, keepdim));
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return wrap(native.argmin(this.handle, dim, keepdim));
  }
  logsumexp(dim: Dims, keepdim = false): Tensor {
    return wrap(native.logsumexp(this.handle, dimList(dim), keepdim));
  }
  /** Variance with Bessel's correction by default (correction 1), as torch.var. */
  var(dim?: Dims, options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return wrap(native.var(this.handle, dimList(dim), options.correction ?? 1, options.keepdim ?? false));
  }
  std(dim?: Dims, options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return wrap(native.std(this.handle, dimList(dim), options.correction ?? 1, options.keepdim ?? false));
  }
  /** Vector p-norm over dims (all when omitted). */
  norm(p = 2, dim?: Dims, keepdim = false): Tensor {
    return wrap(native.norm(this.handle, p, dimList(dim), keepdim));
  }
  all(dim?: number, keepdim = false): Tensor {
    return wrap(native.all(this.handle, dim, keepdim));
  }
  any(dim?: number, keepdim = false): Tensor {
    return wrap(native.any(this.handle, dim, keepdim));
  }
  cumsum(dim: number, dtype?: DType): Tensor {
    return wrap(native.cumsum(this.handle, dim, dtype && dtypeCode(dtype)));
  }

  // ---- products and activations over a dim ------------------------------------------------------

  matmul(other: Tensor): Tensor {
    return wrap(native.matmul(this.handle, other.handle));
  }
  mm(other: Tensor): Tensor {
    return wrap(native.mm(this.handle, other.handle));
  }
  bmm(other: Tensor): Tensor {
    return wrap(native.bmm(this.handle, other.handle));
  }
  softmax(dim: number, dtype?: DType): Tensor {
    return wrap(native.softmax(this.handle, dim, dtype && dtypeCode(dtype)));
  }
  logSoftmax(dim: number, dtype?: DType): Tensor {
    return wrap(native.logSoftmax(this.handle, dim, dtype && dtypeCode(dtype)));
  }

  // ---- shape ----------------------------------------------------------------------------------

  view(...shape: (number | readonly number[])[]): Tensor {
    return wrap(native.view(this.handle, flatShape(shape)));
  }
  reshape(...shape: (number | readonly number[])[]): Tensor {
    return wrap(native.reshape(this.handle, flatShape(shape)));
  }
  permute(...dims: (number | readonly number[])[]): Tensor {
    return wrap(native.permute(this.handle, flatShape(dims)));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return wrap(native.transpose(this.handle, dim0, dim1));
  }
  /** Transpose of the last two dims. */
  get mT(): Tensor {
    return this.transpose(-2, -1);
  }
  contiguous(): Tensor {
    return wrap(native.contiguous(this.handle));
  }
  squeeze(dim?: number): Tensor {
    return wrap(native.squeeze(this.handle, dim));
  }
  unsqueeze(dim: number): Tensor {
    return wrap(native.unsqueeze(this.handle, dim));
  }
  expand(...shape: (number | readonly number[])[]): Tensor {
    return wrap(native.expand(this.handle, flatShape(shape)));
  }
  repeat(...times: (number | readonly number[])[]): Tensor {
    return wrap(native.repeat(this.handle, flatShape(times)));
  }
  repeatInterleave(repeats: number, dim?: number): Tensor {
    return wrap(native.repeatInterleave(this.handle, repeats, dim));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return wrap(native.flatten(this.handle, startDim, endDim));
  }
  flip(dims: Dims): Tensor {
    return wrap(native.flip(this.handle, dimList(dims)));
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return wrap(native.narrow(this.handle, dim, start, length));
  }
  /** Elements start..end (exclusive) along dim, like x[:, start:end:step]; negative indices count from the end. */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return wrap(native.slice(this.handle, dim, start, end, step));
  }
  /** The sub-tensor at `index` along dim, with that dim removed (x[:, i]). */
  select(dim: number, index: number): Tensor {
    return wrap(native.select(this.handle, dim, index));
  }
  split(sizeOrSizes: number | readonly number[], dim = 0): Tensor[] {
    const handles = typeof sizeOrSizes === 'number' ? native.split(this.handle, sizeOrSizes, dim) : native.splitSizes(this.handle, sizeOrSizes, dim);
    return handles.map(wrap);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return native.chunk(this.handle, chunks, dim).map(wrap);
  }
  unbind(dim = 0): Tensor[] {
    return native.unbind(this.handle, dim).map(wrap);
  }
  triu(diagonal = 0): Tensor {
    return wrap(native.triu(this.handle, diagonal));
  }
  tril(diagonal = 0): Tensor {
    return wrap(native.tril(this.handle, diagonal));
  }

  // ---- indexing, sorting, sampling --------------------------------------------------------------

  indexSelect(dim: number, index: Tensor): Tensor {
    return wrap(native.indexSelect(this.handle, dim, index.handle));
  }
  gather(dim: number, index: Tensor): Tensor {
    return wrap(native.gather(this.handle, dim, index.handle));
  }
  /** A copy with src (or a value) written at index along dim. */
  scatter(dim: number, index: Tensor, src: Tensor | ScalarLike): Tensor {
    return src instanceof Tensor ? wrap(native.scatter(this.handle, dim, index.handle, src.handle)) : wrap(native.scatterScalar(this.handle, dim, index.handle, src));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return wrap(native.scatterAdd(this.handle, dim, index.handle, src.handle));
  }
  indexAdd(dim: number, index: Tensor, source: Tensor): Tensor {
    return wrap(native.indexAdd(this.handle, dim, index.handle, source.handle));
  }
  maskedSelect(mask: Tensor): Tensor {
    return wrap(native.maskedSelect(this.handle, mask.handle));
  }
  nonzero(): Tensor {
    return wrap(native.nonzero(this.handle));
  }
  topk(k: number, options: { dim?: number; largest?: boolean; sorted?: boolean } = {}): ValuesIndices {
    const [values, indices] = native.topk(this.handle, k, options.dim ?? -1, options.largest ?? true, options.sorted ?? true);
    return { values: wrap(values), indices: wrap(indices) };
  }
  /** Stable sort along dim. */
  sort(dim = -1, descending = false): ValuesIndices {
    const [values, indices] = native.sort(this.handle, dim, descending);
    return { values: wrap(values), indices: wrap(indices) };
  }
  argsort(dim = -1, descending = false): Tensor {
    return wrap(native.argsort(this.handle, dim, descending));
  }
  /** Draws numSamples indices per row of this (non-negative weights) [.., V] -> [.., numSamples]. */
  multinomial(numSamples: number, options: { replacement?: boolean; generator?: Generator } = {}): Tensor {
    return wrap(native.multinomial(this.handle, numSamples, options.replacement ?? false, options.generator?.handle));
  }

  // ---- conversion -----------------------------------------------------------------------------

  /** A tensor of another dtype ('float32', ...) or on another device ('cpu', 'cuda', 'cuda:1'). */
  to(target: DType | string): Tensor {
    return isDType(target) ? wrap(native.toDtype(this.handle, dtypeCode(target))) : wrap(native.toDevice(this.handle, target));
  }
  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  bfloat16(): Tensor { return this.to('bfloat16'); }
  half(): Tensor { return this.to('float16'); }
  long(): Tensor { return this.to('int64'); }
  int(): Tensor { return this.to('int32'); }
  bool(): Tensor { return this.to('bool'); }
  cpu(): Tensor { return this.to('cpu'); }
  cuda(): Tensor { return this.to('cuda'); }
  clone(): Tensor {
    return wrap(native.clone(this.handle));
  }
  /** The same data, cut from the autograd graph. */
  detach(): Tensor {
    return wrap(native.detach(this.handle));
  }

  // ---- in place -------------------------------------------------------------------------------

  add_(other: Tensor | ScalarLike, alpha?: number): this {
    if (other instanceof Tensor) native.add_(this.handle, other.handle, alpha);
    else native.addScalar_(this.handle, other, alpha);
    return this;
  }
  sub_(other: Tensor, alpha?: number): this {
    native.sub_(this.handle, other.handle, alpha);
    return this;
  }
  mul_(other: Tensor | ScalarLike): this {
    if (other instanceof Tensor) native.mul_(this.handle, other.handle);
    else native.mulScalar_(this.handle, other);
    return this;
  }
  div_(other: Tensor | ScalarLike): this {
    if (other instanceof Tensor) native.div_(this.handle, other.handle);
    else native.divScalar_(this.handle, other);
    return this;
  }
  copy_(src: Tensor): this {
    native.copy_(this.handle, src.handle);
    return this;
  }
  fill_(value: ScalarLike): this {
    native.fill_(this.handle, value);
    return this;
  }
  zero_(): this {
    native.zero_(this.handle);
    return this;
  }
  clamp_(min?: number, max?: number): this {
    native.clamp_(this.handle, min, max);
    return this;
  }
  maskedFill_(mask: Tensor, value: ScalarLike): this {
    native.maskedFill_(this.handle, mask.handle, value);
    return this;
  }
  indexCopy_(dim: number, index: Tensor, source: Tensor): this {
    native.indexCopy_(this.handle, dim, index.handle, source.handle);
    return this;
  }
  normal_(mean = 0, std = 1, generator?: Generator): this {
    native.normal_(this.handle, mean, std, generator?.handle);
    return this;
  }
  uniform_(low = 0, high = 1, generator?: Generator): this {
    native.uniform_(this.handle, low, high, generator?.handle);
    return this;
  }

  // ---- autograd -------------------------------------------------------------------------------

  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }
  /** Starts (or stops) recording operations on this leaf tensor for backward(). */
  requiresGrad_(requiresGrad = true): this {
    native.setRequiresGrad(this.handle, requiresGrad);
    return this;
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }
  /** The accumulated gradient (a new handle on each read), or null. */
  get grad(): Tensor | null {
    const handle = native.grad(this.handle);
    return handle === null ? null : wrap(handle);
  }
  /** Sets the gradient; null clears it (what zeroGrad does). */
  set grad(value: Tensor | null) {
    native.setGrad(this.handle, value?.handle);
  }
  retainGrad(): this {
    native.retainGrad(this.handle);
    return this;
  }
  /** Accumulates d(this)/d(leaf) into every leaf's grad. A non-scalar needs `gradient` of its shape. */
  backward(gradient?: Tensor, options: { retainGraph?: boolean } = {}): void {
    native.backward(this.handle, gradient?.handle, options.retainGraph ?? false);
  }
}

/** @internal wraps a handle from the addon in a Tensor (null stays null where the addon may return none). */
export function wrap(handle: NativeHandle): Tensor {
  return new Tensor(handle);
}
