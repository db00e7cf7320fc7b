// intuitor's tensor engine: PyTorch's C++ library through our addon, with a PyTorch-like API.
//
//   import * as torch from './torch/index.ts';
//   const y = torch.scope(() => torch.randn([2, 3]).matmul(w).relu());

export { Tensor, type Dims, type ScalarLike, type ValuesIndices } from './tensor.ts';
export { type DType, dtypes, isFloatingPoint, elementSize } from './dtype.ts';
export * from './creation.ts';
export * from './functional.ts';
export * from './autograd.ts';
export * from './checkpoint.ts';
export * from './optim.ts';
export * from './mixed-precision.ts';
export * from './grad-scaler.ts';
export { Generator, manualSeed } from './random.ts';
export * from './runtime.ts';
export { scope, keep, scopeDepth } from './scope.ts';
export { coretypeForFlags, cpuFlags } from './blas-env.ts';
export * as distributed from './distributed.ts';
