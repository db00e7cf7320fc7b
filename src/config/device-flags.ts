// --dtype and --device, shared by every command that loads a model, with one validation.

import type { FlagSpecs } from './flags.ts';

export const computeDtypes = ['float32', 'bfloat16', 'float16'] as const;
export type ComputeDtype = (typeof computeDtypes)[number];

export const deviceFlags = {
  dtype: { type: 'string', default: 'float32', choices: computeDtypes, help: 'compute dtype: float32, bfloat16 (half the memory) or float16 (CUDA only)' },
  device: { type: 'string', default: 'cpu', help: "where the model runs: 'cpu', 'cuda' or 'cuda:N' (needs an addon built against a CUDA libtorch)" },
} as const satisfies FlagSpecs;

/** Checks a --dtype / --device pair; every error says how to fix it. */
export function checkDtypeDevice(dtype: string, device: string): asserts dtype is ComputeDtype {
  if (!/^(cpu|cuda(:\d+)?)$/.test(device)) throw new Error(`--device must be cpu, cuda or cuda:N, got "${device}"`);
  if (!(computeDtypes as readonly string[]).includes(dtype)) throw new Error(`--dtype must be one of ${computeDtypes.join(', ')}, got "${dtype}"`);
  // The CPU build of libtorch has no float16 matrix multiply; bfloat16 is the CPU's half precision
  // anyway (same memory, no loss scaling).
  if (dtype === 'float16' && device === 'cpu') throw new Error('--dtype float16 needs --device cuda (the CPU has no float16 matrix multiply); on the CPU use --dtype bfloat16');
}
