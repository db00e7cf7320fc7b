// A preallocated key/value cache for incremental decoding: per layer, keys and values of shape
// [B, Hkv, maxLength, D]. Each forward writes its new positions in place and attends over the
// filled prefix, so decoding one token costs one token's projections, not the whole sequence.

import * as torch from '../torch/index.ts';
import type { ModelConfig } from './config.ts';

export class KVCache {
  readonly batchSize: number;
  readonly maxLength: number;
  /** positions filled so far (the same for every row; left padding is masked, not skipped) */
  length = 0;
  readonly #keys: torch.Tensor[];
  readonly #values: torch.Tensor[];

  constructor(config: ModelConfig, options: { batchSize: number; maxLength: number; dtype: torch.DType; device?: string }) {
    const { batchSize, maxLength, dtype, device } = options;
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`KVCache batchSize must be a positive integer, got ${batchSize}`);
    if (!(Number.isInteger(maxLength) && maxLength > 0)) throw new RangeError(`KVCache maxLength must be a positive integer, got ${maxLength}`);
    this.batchSize = batchSize;
    this.maxLength = maxLength;
    const shape = [batchSize, config.numKeyValueHeads, maxLength, config.headDim];
    const make = () => torch.zeros(shape, { dtype, device: device ?? 'cpu' }).keep();
    this.#keys = Array.from({ length: config.numHiddenLayers }, make);
    this.#values = Array.from({ length: config.numHiddenLayers }, make);
  }

  /**
   * Writes k, v [B, Hkv, T, D] of `layer` at positions length..length+T and returns the filled
   * prefix [B, Hkv, length+T, D] of each. Call advance(T) once every layer has been updated.
   */
  update(layer: number, k: torch.Tensor, v: torch.Tensor): [torch.Tensor, torch.Tensor] {
    const t = k.size(2);
    if (this.length + t > this.maxLength) {
      throw new RangeError(`KVCache is full: ${this.length} + ${t} positions exceed maxLength ${this.maxLength}`);
    }
    const keys = this.#keys[layer]!;
    const values = this.#values[layer]!;
    torch.noGrad(() => {
      keys.narrow(2, this.length, t).copy_(k);
      values.narrow(2, this.length, t).copy_(v);
    });
    return [keys.narrow(2, 0, this.length + t), values.narrow(2, 0, this.length + t)];
  }

  advance(t: number): void {
    this.length += t;
  }

  dispose(): void {
    for (const t of [...this.#keys, ...this.#values]) t.dispose();
  }
}
