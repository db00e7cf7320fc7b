// The addon's functions as TypeScript sees them: one entry per function that native/src/*.cc
// registers with `def` (and the UNARY / BINARY macros of ops-math.cc), in the same order and
// grouped by source file. test/torch/native-interface.test.ts checks that the loaded addon exports
// exactly these names, so a function added on one side only fails the typecheck or that test.
//
// Conventions, as the addon's argument parser (native/src/args.cc) reads them:
// - arguments are positional; a `Maybe<T>` argument may be null or undefined (absent), which the
//   addon treats alike, and a trailing one may be left out;
// - integers (dims, sizes, counts) are typed as JS numbers; the addon also reads bigints, which
//   only seeds are typed to allow;
// - shapes and dim lists are arrays of integers;
// - dtypes are at::ScalarType codes (dtype.ts's dtypeCode), devices strings such as 'cpu' or 'cuda:1';
// - a scalar is a number, bigint or boolean (integral numbers stay integral, so int64 + 1 is int64).
// Every native error arrives as a JS Error whose message starts with the function's name.

/** An opaque, type-tagged handle to a native at::Tensor. */
export type NativeHandle = { readonly __nativeHandle: unique symbol };
/** An opaque, type-tagged handle to a native at::Generator (a random stream). */
export type GeneratorHandle = { readonly __generatorHandle: unique symbol };
/** An opaque, type-tagged handle to a native c10d process group. */
export type ProcessGroupHandle = { readonly __processGroupHandle: unique symbol };

/** An at::ScalarType code, as dtypeCode returns. */
export type DTypeCode = number;
/** What the addon converts to an at::Scalar. */
export type NativeScalar = number | bigint | boolean;
/** An argument the addon treats as absent when it is null or undefined. */
export type Maybe<T> = T | null | undefined;

/** A tensor from one tensor (ops-math.cc's UNARY). */
export type UnaryOp = (x: NativeHandle) => NativeHandle;
/** The tensor-tensor half of ops-math.cc's BINARY. */
export type BinaryOp = (x: NativeHandle, y: NativeHandle) => NativeHandle;
/** The tensor-scalar half of ops-math.cc's BINARY (`<name>Scalar`). */
export type BinaryScalarOp = (x: NativeHandle, y: NativeScalar) => NativeHandle;
/** [values, indices] from max/min along a dim, topk and sort. */
export type ValuesIndicesHandles = [values: NativeHandle, indices: NativeHandle];

/** runtimeInfo()'s result: what was linked and what is visible. */
export interface NativeRuntimeInfo {
  torchVersion: string;
  cuda: boolean;
  cudaDevices: number;
  /** OpenBLAS's kernel family in use ('' when another BLAS is linked) */
  blasCore: string;
  blasConfig: string;
  parallelInfo: string;
  /** the libstdc++ ABI the addon was compiled with (_GLIBCXX_USE_CXX11_ABI) */
  cxx11Abi: number;
}

/** memoryStats()'s result: the live-tensor counters (see runtime.ts's MemoryStats). */
export interface NativeMemoryStats {
  liveTensors: number;
  liveBytes: number;
  peakBytes: number;
  v8ExternalBytes: number;
}

/** distInfo()'s result. */
export interface NativeProcessGroupInfo {
  rank: number;
  worldSize: number;
  backend: 'gloo' | 'nccl';
  timeoutMs: number;
  destroyed: boolean;
}

/**
 * The addon's functions. Declared as properties of function type (not methods) so that passing one
 * as a value, e.g. `native.mul`, keeps its exact signature: the functions do not use `this`.
 */
export interface NativeAddon {
  // ---- creation.cc ------------------------------------------------------------------------------
  empty: (shape: readonly number[], dtype: DTypeCode, device: string) => NativeHandle;
  zeros: (shape: readonly number[], dtype: DTypeCode, device: string) => NativeHandle;
  ones: (shape: readonly number[], dtype: DTypeCode, device: string) => NativeHandle;
  full: (shape: readonly number[], value: NativeScalar, dtype: DTypeCode, device: string) => NativeHandle;
  arange: (start: NativeScalar, end: NativeScalar, step: NativeScalar, dtype: DTypeCode, device: string) => NativeHandle;
  rand: (shape: readonly number[], generator: Maybe<GeneratorHandle>, dtype: DTypeCode, device: string) => NativeHandle;
  randn: (shape: readonly number[], generator: Maybe<GeneratorHandle>, dtype: DTypeCode, device: string) => NativeHandle;
  randint: (low: number, high: number, shape: readonly number[], generator: Maybe<GeneratorHandle>, dtype: DTypeCode, device: string) => NativeHandle;
  randperm: (n: number, generator: Maybe<GeneratorHandle>, dtype: DTypeCode, device: string) => NativeHandle;
  zerosLike: UnaryOp;
  onesLike: UnaryOp;
  fullLike: BinaryScalarOp;
  emptyLike: UnaryOp;
  /** A copy of the bytes (native byte order) as a tensor; the byte length must match shape and dtype. */
  fromBytes: (bytes: NodeJS.TypedArray, shape: readonly number[], dtype: DTypeCode, device: string) => NativeHandle;
  /** A contiguous CPU copy of the elements. */
  toBytes: (x: NativeHandle) => ArrayBuffer;
  /** The single element, as a double. */
  item: (x: NativeHandle) => number;
  /** A new CPU generator with this seed. */
  generatorNew: (seed: number | bigint) => GeneratorHandle;
  generatorDefault: (device: string) => GeneratorHandle;
  generatorSeed: (generator: GeneratorHandle, seed: number | bigint) => void;
  /** The generator's state as a uint8 tensor. */
  generatorGetState: (generator: GeneratorHandle) => NativeHandle;
  generatorSetState: (generator: GeneratorHandle, state: NativeHandle) => void;
  /** Seeds the default generators of the CPU and of every visible CUDA device. */
  manualSeed: (seed: number | bigint) => void;

  // ---- ops-math.cc: elementwise -----------------------------------------------------------------
  neg: UnaryOp;
  abs: UnaryOp;
  exp: UnaryOp;
  log: UnaryOp;
  log1p: UnaryOp;
  expm1: UnaryOp;
  sqrt: UnaryOp;
  rsqrt: UnaryOp;
  square: UnaryOp;
  reciprocal: UnaryOp;
  sin: UnaryOp;
  cos: UnaryOp;
  tanh: UnaryOp;
  sigmoid: UnaryOp;
  relu: UnaryOp;
  silu: UnaryOp;
  softplus: UnaryOp;
  sign: UnaryOp;
  floor: UnaryOp;
  ceil: UnaryOp;
  round: UnaryOp;
  isnan: UnaryOp;
  isfinite: UnaryOp;
  logicalNot: UnaryOp;
  gelu: (x: NativeHandle, approximate: 'none' | 'tanh') => NativeHandle;
  /** x + alpha * y (alpha defaults to 1) */
  add: (x: NativeHandle, y: NativeHandle, alpha?: Maybe<NativeScalar>) => NativeHandle;
  addScalar: (x: NativeHandle, y: NativeScalar, alpha?: Maybe<NativeScalar>) => NativeHandle;
  /** x - alpha * y (alpha defaults to 1) */
  sub: (x: NativeHandle, y: NativeHandle, alpha?: Maybe<NativeScalar>) => NativeHandle;
  subScalar: (x: NativeHandle, y: NativeScalar, alpha?: Maybe<NativeScalar>) => NativeHandle;
  /** value - x */
  rsubScalar: (x: NativeHandle, value: NativeScalar) => NativeHandle;
  mul: BinaryOp;
  mulScalar: BinaryScalarOp;
  div: BinaryOp;
  divScalar: BinaryScalarOp;
  pow: BinaryOp;
  powScalar: BinaryScalarOp;
  remainder: BinaryOp;
  remainderScalar: BinaryScalarOp;
  floorDivide: BinaryOp;
  floorDivideScalar: BinaryScalarOp;
  eq: BinaryOp;
  eqScalar: BinaryScalarOp;
  ne: BinaryOp;
  neScalar: BinaryScalarOp;
  lt: BinaryOp;
  ltScalar: BinaryScalarOp;
  le: BinaryOp;
  leScalar: BinaryScalarOp;
  gt: BinaryOp;
  gtScalar: BinaryScalarOp;
  ge: BinaryOp;
  geScalar: BinaryScalarOp;
  maximum: BinaryOp;
  minimum: BinaryOp;
  logicalAnd: BinaryOp;
  logicalOr: BinaryOp;
  where: (condition: NativeHandle, x: NativeHandle, y: NativeHandle) => NativeHandle;
  whereScalar: (condition: NativeHandle, x: NativeHandle, y: NativeScalar) => NativeHandle;
  clamp: (x: NativeHandle, min?: Maybe<NativeScalar>, max?: Maybe<NativeScalar>) => NativeHandle;
  maskedFill: (x: NativeHandle, mask: NativeHandle, value: NativeScalar) => NativeHandle;
  maskedFillTensor: (x: NativeHandle, mask: NativeHandle, value: NativeHandle) => NativeHandle;

  // ---- ops-math.cc: reductions (absent dims reduce over every dim) ------------------------------
  sum: (x: NativeHandle, dims: Maybe<readonly number[]>, keepdim: boolean, dtype?: Maybe<DTypeCode>) => NativeHandle;
  mean: (x: NativeHandle, dims: Maybe<readonly number[]>, keepdim: boolean, dtype?: Maybe<DTypeCode>) => NativeHandle;
  prod: (x: NativeHandle, dim: number, keepdim: boolean) => NativeHandle;
  amax: (x: NativeHandle, dims: Maybe<readonly number[]>, keepdim: boolean) => NativeHandle;
  amin: (x: NativeHandle, dims: Maybe<readonly number[]>, keepdim: boolean) => NativeHandle;
  maxDim: (x: NativeHandle, dim: number, keepdim: boolean) => ValuesIndicesHandles;
  minDim: (x: NativeHandle, dim: number, keepdim: boolean) => ValuesIndicesHandles;
  argmax: (x: NativeHandle, dim: Maybe<number>, keepdim: boolean) => NativeHandle;
  argmin: (x: NativeHandle, dim: Maybe<number>, keepdim: boolean) => NativeHandle;
  logsumexp: (x: NativeHandle, dims: readonly number[], keepdim: boolean) => NativeHandle;
  var: (x: NativeHandle, dims: Maybe<readonly number[]>, correction: number, keepdim: boolean) => NativeHandle;
  std: (x: NativeHandle, dims: Maybe<readonly number[]>, correction: number, keepdim: boolean) => NativeHandle;
  /** The vector ord-norm. */
  norm: (x: NativeHandle, ord: NativeScalar, dims: Maybe<readonly number[]>, keepdim: boolean) => NativeHandle;
  /** Over every element, or along dim (then keepdim is read). */
  all: { (x: NativeHandle): NativeHandle; (x: NativeHandle, dim: Maybe<number>, keepdim: boolean): NativeHandle };
  any: { (x: NativeHandle): NativeHandle; (x: NativeHandle, dim: Maybe<number>, keepdim: boolean): NativeHandle };
  cumsum: (x: NativeHandle, dim: number, dtype?: Maybe<DTypeCode>) => NativeHandle;

  // ---- ops-math.cc: matrix products -------------------------------------------------------------
  matmul: BinaryOp;
  mm: BinaryOp;
  bmm: BinaryOp;

  // ---- ops-math.cc: in place (the first argument is updated; nothing is returned) ---------------
  add_: (x: NativeHandle, y: NativeHandle, alpha?: Maybe<NativeScalar>) => void;
  addScalar_: (x: NativeHandle, y: NativeScalar, alpha?: Maybe<NativeScalar>) => void;
  sub_: (x: NativeHandle, y: NativeHandle, alpha?: Maybe<NativeScalar>) => void;
  mul_: (x: NativeHandle, y: NativeHandle) => void;
  mulScalar_: (x: NativeHandle, y: NativeScalar) => void;
  div_: (x: NativeHandle, y: NativeHandle) => void;
  divScalar_: (x: NativeHandle, y: NativeScalar) => void;
  copy_: (x: NativeHandle, src: NativeHandle) => void;
  fill_: (x: NativeHandle, value: NativeScalar) => void;
  zero_: (x: NativeHandle) => void;
  clamp_: (x: NativeHandle, min?: Maybe<NativeScalar>, max?: Maybe<NativeScalar>) => void;
  maskedFill_: (x: NativeHandle, mask: NativeHandle, value: NativeScalar) => void;
  normal_: (x: NativeHandle, mean: number, std: number, generator?: Maybe<GeneratorHandle>) => void;
  uniform_: (x: NativeHandle, low: number, high: number, generator?: Maybe<GeneratorHandle>) => void;

  // ---- ops-shape.cc -----------------------------------------------------------------------------
  /** Shape, dtype code and device in one crossing. */
  meta: (x: NativeHandle) => [shape: number[], dtype: DTypeCode, device: string];
  strides: (x: NativeHandle) => number[];
  isContiguous: (x: NativeHandle) => boolean;
  /** Releases the tensor now; false when it was already disposed. */
  dispose: (x: NativeHandle) => boolean;
  view: (x: NativeHandle, shape: readonly number[]) => NativeHandle;
  reshape: (x: NativeHandle, shape: readonly number[]) => NativeHandle;
  permute: (x: NativeHandle, dims: readonly number[]) => NativeHandle;
  transpose: (x: NativeHandle, dim0: number, dim1: number) => NativeHandle;
  contiguous: UnaryOp;
  /** Every size-1 dim, or only dim. */
  squeeze: (x: NativeHandle, dim?: Maybe<number>) => NativeHandle;
  unsqueeze: (x: NativeHandle, dim: number) => NativeHandle;
  expand: (x: NativeHandle, shape: readonly number[]) => NativeHandle;
  repeat: (x: NativeHandle, times: readonly number[]) => NativeHandle;
  flatten: (x: NativeHandle, startDim: number, endDim: number) => NativeHandle;
  flip: (x: NativeHandle, dims: readonly number[]) => NativeHandle;
  repeatInterleave: (x: NativeHandle, repeats: number, dim?: Maybe<number>) => NativeHandle;
  narrow: (x: NativeHandle, dim: number, start: number, length: number) => NativeHandle;
  slice: (x: NativeHandle, dim: number, start: Maybe<number>, end: Maybe<number>, step: number) => NativeHandle;
  /** The sub-tensor at index along dim, without that dim. */
  select: (x: NativeHandle, dim: number, index: number) => NativeHandle;
  cat: (tensors: readonly NativeHandle[], dim: number) => NativeHandle;
  stack: (tensors: readonly NativeHandle[], dim: number) => NativeHandle;
  split: (x: NativeHandle, splitSize: number, dim: number) => NativeHandle[];
  splitSizes: (x: NativeHandle, sizes: readonly number[], dim: number) => NativeHandle[];
  chunk: (x: NativeHandle, chunks: number, dim: number) => NativeHandle[];
  unbind: (x: NativeHandle, dim: number) => NativeHandle[];
  triu: (x: NativeHandle, diagonal: number) => NativeHandle;
  tril: (x: NativeHandle, diagonal: number) => NativeHandle;
  indexSelect: (x: NativeHandle, dim: number, index: NativeHandle) => NativeHandle;
  gather: (x: NativeHandle, dim: number, index: NativeHandle) => NativeHandle;
  scatter: (x: NativeHandle, dim: number, index: NativeHandle, src: NativeHandle) => NativeHandle;
  scatterScalar: (x: NativeHandle, dim: number, index: NativeHandle, value: NativeScalar) => NativeHandle;
  scatterAdd: (x: NativeHandle, dim: number, index: NativeHandle, src: NativeHandle) => NativeHandle;
  indexAdd: (x: NativeHandle, dim: number, index: NativeHandle, source: NativeHandle) => NativeHandle;
  indexCopy_: (x: NativeHandle, dim: number, index: NativeHandle, source: NativeHandle) => void;
  maskedSelect: (x: NativeHandle, mask: NativeHandle) => NativeHandle;
  nonzero: UnaryOp;
  topk: (x: NativeHandle, k: number, dim: number, largest: boolean, sorted: boolean) => ValuesIndicesHandles;
  /** A stable sort along dim. */
  sort: (x: NativeHandle, dim: number, descending: boolean) => ValuesIndicesHandles;
  argsort: (x: NativeHandle, dim: number, descending: boolean) => NativeHandle;
  multinomial: (probs: NativeHandle, numSamples: number, replacement: boolean, generator?: Maybe<GeneratorHandle>) => NativeHandle;
  toDtype: (x: NativeHandle, dtype: DTypeCode) => NativeHandle;
  toDevice: (x: NativeHandle, device: string) => NativeHandle;
  clone: UnaryOp;
  detach: UnaryOp;

  // ---- nn.cc ------------------------------------------------------------------------------------
  linear: (x: NativeHandle, weight: NativeHandle, bias?: Maybe<NativeHandle>) => NativeHandle;
  embedding: (weight: NativeHandle, ids: NativeHandle) => NativeHandle;
  softmax: (x: NativeHandle, dim: number, dtype?: Maybe<DTypeCode>) => NativeHandle;
  logSoftmax: (x: NativeHandle, dim: number, dtype?: Maybe<DTypeCode>) => NativeHandle;
  rmsNorm: (x: NativeHandle, weight: NativeHandle, eps: number) => NativeHandle;
  /** reduction: 0 none, 1 mean, 2 sum */
  crossEntropy: (logits: NativeHandle, target: NativeHandle, ignoreIndex: number, reduction: 0 | 1 | 2) => NativeHandle;
  scaledDotProductAttention: (
    q: NativeHandle,
    k: NativeHandle,
    v: NativeHandle,
    mask: Maybe<NativeHandle>,
    isCausal: boolean,
    scale: Maybe<number>,
    allowFused: boolean,
  ) => NativeHandle;
  hasFusedAttention: () => boolean;

  // ---- autograd.cc ------------------------------------------------------------------------------
  isGradEnabled: () => boolean;
  setGradEnabled: (enabled: boolean) => void;
  requiresGrad: (x: NativeHandle) => boolean;
  setRequiresGrad: (x: NativeHandle, requiresGrad: boolean) => void;
  isLeaf: (x: NativeHandle) => boolean;
  retainGrad: (x: NativeHandle) => void;
  /** The accumulated gradient, or null when there is none. */
  grad: (x: NativeHandle) => NativeHandle | null;
  /** An absent gradient clears it. */
  setGrad: (x: NativeHandle, grad?: Maybe<NativeHandle>) => void;
  backward: (loss: NativeHandle, gradient: Maybe<NativeHandle>, retainGraph: boolean) => void;
  /** Clips the gradients of params in place; returns their total norm before clipping. */
  clipGradNorm: (params: readonly NativeHandle[], maxNorm: number, normType: number, errorIfNonfinite: boolean) => number;
  /** One AdamW update of param (step already incremented); false when param has no gradient. */
  adamwStep: (
    param: NativeHandle,
    expAvg: NativeHandle,
    expAvgSq: NativeHandle,
    step: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
  ) => boolean;

  // ---- runtime.cc -------------------------------------------------------------------------------
  getNumThreads: () => number;
  setNumThreads: (n: number) => void;
  runtimeInfo: () => NativeRuntimeInfo;
  memoryStats: () => NativeMemoryStats;
  resetPeakBytes: () => void;
  cudaSynchronize: () => void;

  // ---- certainty.cc -----------------------------------------------------------------------------
  /** [N, 5] float32 statistics of logits [N, V], or of hidden [N, d] through weight [V, d]. */
  tokenStatistics: (
    input: NativeHandle,
    weight: Maybe<NativeHandle>,
    targets: Maybe<NativeHandle>,
    temperature: number,
    chunkRows: number,
    all: boolean,
  ) => NativeHandle;

  // ---- linear-logprob.cc ------------------------------------------------------------------------
  /** logprob [N]; with a certaintyTemperature, also the detached statistics [N, 2] (selfCertainty, entropy). */
  linearLogprob: {
    (hidden: NativeHandle, weight: NativeHandle, targets: NativeHandle, temperature: number, chunkRows: number, certaintyTemperature?: null): NativeHandle;
    (
      hidden: NativeHandle,
      weight: NativeHandle,
      targets: NativeHandle,
      temperature: number,
      chunkRows: number,
      certaintyTemperature: number,
    ): [logprob: NativeHandle, statistics: NativeHandle];
  };

  // ---- distributed.cc (a build without c10d registers the same names, each throwing) ------------
  distBackends: () => { gloo: boolean; nccl: boolean };
  distInit: (backend: 'gloo' | 'nccl', rank: number, worldSize: number, masterAddr: string, masterPort: number, timeoutMs: number) => ProcessGroupHandle;
  /** In place. */
  distAllReduce: (group: ProcessGroupHandle, tensors: readonly NativeHandle[], op: 'sum' | 'avg' | 'max' | 'min', bucketBytes: number) => void;
  /** In place; bucketBytes defaults to 25 MiB. */
  distBroadcast: (group: ProcessGroupHandle, tensors: readonly NativeHandle[], srcRank: number, bucketBytes?: Maybe<number>) => void;
  /** worldSize new tensors, in rank order. */
  distAllGather: (group: ProcessGroupHandle, tensor: NativeHandle) => NativeHandle[];
  distBarrier: (group: ProcessGroupHandle) => void;
  /** Idempotent; true when this call destroyed the group. */
  distDestroy: (group: ProcessGroupHandle) => boolean;
  distInfo: (group: ProcessGroupHandle) => NativeProcessGroupInfo;
}
