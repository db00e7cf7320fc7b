// The addon's exports and the NativeAddon interface (src/torch/native-api.ts) name the same
// functions. NATIVE_FUNCTIONS is checked against the interface by the typecheck (a name not in the
// interface, or an interface key not listed, is a type error) and against the loaded addon here,
// so a function added to the C++ side or to the interface alone fails one of the two.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native, type GeneratorHandle, type NativeAddon, type NativeHandle, type ProcessGroupHandle } from '../../src/torch/native.ts';

const NATIVE_FUNCTIONS = [
  // creation.cc
  'empty', 'zeros', 'ones', 'full', 'arange', 'rand', 'randn', 'randint', 'randperm', 'zerosLike', 'onesLike',
  'fullLike', 'emptyLike', 'fromBytes', 'toBytes', 'item', 'generatorNew', 'generatorDefault', 'generatorSeed',
  'generatorGetState', 'generatorSetState', 'manualSeed',
  // ops-math.cc
  'neg', 'abs', 'exp', 'log', 'log1p', 'expm1', 'sqrt', 'rsqrt', 'square', 'reciprocal', 'sin', 'cos', 'tanh',
  'sigmoid', 'relu', 'silu', 'softplus', 'sign', 'floor', 'ceil', 'round', 'isnan', 'isfinite', 'logicalNot', 'gelu',
  'add', 'addScalar', 'sub', 'subScalar', 'rsubScalar', 'mul', 'mulScalar', 'div', 'divScalar', 'pow', 'powScalar',
  'remainder', 'remainderScalar', 'floorDivide', 'floorDivideScalar', 'eq', 'eqScalar', 'ne', 'neScalar', 'lt',
  'ltScalar', 'le', 'leScalar', 'gt', 'gtScalar', 'ge', 'geScalar', 'maximum', 'minimum', 'logicalAnd', 'logicalOr',
  'where', 'whereScalar', 'clamp', 'maskedFill', 'maskedFillTensor', 'sum', 'mean', 'prod', 'amax', 'amin', 'maxDim',
  'minDim', 'argmax', 'argmin', 'logsumexp', 'var', 'std', 'norm', 'all', 'any', 'cumsum', 'matmul', 'mm', 'bmm',
  'add_', 'addScalar_', 'sub_', 'mul_', 'mulScalar_', 'div_', 'divScalar_', 'copy_', 'fill_', 'zero_', 'clamp_',
  'maskedFill_', 'normal_', 'uniform_',
  // ops-shape.cc
  'meta', 'strides', 'isContiguous', 'dispose', 'view', 'reshape', 'permute', 'transpose', 'contiguous', 'squeeze',
  'unsqueeze', 'expand', 'repeat', 'flatten', 'flip', 'repeatInterleave', 'narrow', 'slice', 'select', 'cat',
  'stack', 'split', 'splitSizes', 'chunk', 'unbind', 'triu', 'tril', 'indexSelect', 'gather', 'scatter',
  'scatterScalar', 'scatterAdd', 'indexAdd', 'indexCopy_', 'maskedSelect', 'nonzero', 'topk', 'sort', 'argsort',
  'multinomial', 'toDtype', 'toDevice', 'clone', 'detach',
  // nn.cc
  'linear', 'embedding', 'softmax', 'logSoftmax', 'rmsNorm', 'crossEntropy', 'scaledDotProductAttention',
  'hasFusedAttention',
  // autograd.cc
  'isGradEnabled', 'setGradEnabled', 'requiresGrad', 'setRequiresGrad', 'isLeaf', 'retainGrad', 'grad', 'setGrad',
  'backward', 'clipGradNorm', 'adamwStep',
  // runtime.cc
  'getNumThreads', 'setNumThreads', 'runtimeInfo', 'memoryStats', 'resetPeakBytes', 'cudaSynchronize',
  // certainty.cc
  'tokenStatistics',
  // linear-logprob.cc
  'linearLogprob',
  // distributed.cc
  'distBackends', 'distInit', 'distAllReduce', 'distBroadcast', 'distAllGather', 'distBarrier', 'distDestroy',
  'distInfo',
] as const satisfies readonly (keyof NativeAddon)[];

// A key of NativeAddon missing from NATIVE_FUNCTIONS makes this a type error that names the key.
type Unlisted = Exclude<keyof NativeAddon, (typeof NATIVE_FUNCTIONS)[number]>;
const everyKeyListed: [Unlisted] extends [never] ? true : Unlisted = true;

test('NATIVE_FUNCTIONS lists every key of NativeAddon, each once', () => {
  assert.equal(everyKeyListed, true);
  const repeated = NATIVE_FUNCTIONS.filter((name, i) => NATIVE_FUNCTIONS.indexOf(name) !== i);
  assert.deepEqual(repeated, []);
});

test('the addon exports exactly the functions NativeAddon declares', () => {
  const exported = new Set(Object.keys(native));
  const declared = new Set<string>(NATIVE_FUNCTIONS);
  const undeclared = [...exported].filter((name) => !declared.has(name));
  const missing = [...declared].filter((name) => !exported.has(name));
  assert.deepEqual({ undeclared, missing }, { undeclared: [], missing: [] }, 'native/src/*.cc and src/torch/native-api.ts disagree: declare (or remove) these names');
});

test('every export is a function named after its key', () => {
  for (const name of NATIVE_FUNCTIONS) {
    const fn: unknown = native[name];
    assert.equal(typeof fn, 'function', `native.${name} is not a function`);
    assert.equal((fn as () => unknown).name, name);
  }
});

// Never called: only the typecheck reads it. The three kinds of handle are not interchangeable.
function handleKindsAreDistinct(tensor: NativeHandle, generator: GeneratorHandle, group: ProcessGroupHandle): void {
  // @ts-expect-error a generator is not a tensor
  native.exp(generator);
  // @ts-expect-error a tensor is not a generator
  native.generatorSeed(tensor, 1);
  // @ts-expect-error a tensor is not a process group
  native.distBarrier(tensor);
  // @ts-expect-error a process group is not a tensor
  native.clone(group);
}
