// Random number generators. Pass a Generator to sampling and data-order code so that results
// depend on an explicit seed, not on whatever ran before; save and restore its state to resume.

import { native, type GeneratorHandle } from './native.ts';
import { Tensor, wrap } from './tensor.ts';

export class Generator {
  /** @internal */
  readonly handle: GeneratorHandle;

  /** A new CPU generator seeded with `seed`. */
  constructor(seed: number | bigint);
  /** @internal wraps an existing native generator */
  constructor(seed: number | bigint, handle: GeneratorHandle);
  constructor(seed: number | bigint, handle?: GeneratorHandle) {
    this.handle = handle ?? native.generatorNew(seed);
  }

  /** The default generator of a device: the one used when no generator is passed. */
  static default(device = 'cpu'): Generator {
    return new Generator(0, native.generatorDefault(device));
  }

  manualSeed(seed: number | bigint): this {
    native.generatorSeed(this.handle, seed);
    return this;
  }

  /** The full state as a uint8 tensor (to save with a checkpoint). */
  getState(): Tensor {
    return wrap(native.generatorGetState(this.handle));
  }

  setState(state: Tensor): this {
    native.generatorSetState(this.handle, state.handle);
    return this;
  }
}

/** Seeds the default generators of the CPU and of every CUDA device. */
export function manualSeed(seed: number | bigint): void {
  native.manualSeed(seed);
}
