// Optimizers: AdamW (PyTorch's algorithm, run natively per parameter) and SGD, with savable state,
// and the cosine learning-rate schedule with linear warmup. AdamW keeps its moments in each
// parameter's dtype; for bfloat16/float16 models use MixedPrecisionAdamW (mixed-precision.ts).

import { native } from './native.ts';
import { noGrad, zeroGrad } from './autograd.ts';
import { zerosLike } from './creation.ts';
import { scope } from './scope.ts';
import type { Tensor } from './tensor.ts';

export interface AdamWOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
}

/** One parameter's AdamW state, as PyTorch keeps it (step, exp_avg, exp_avg_sq). */
export interface AdamWParamState {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
}

export interface AdamWStateDict {
  options: Required<AdamWOptions>;
  /** per parameter, in the order given to the constructor; null before its first update */
  state: (AdamWParamState | null)[];
}

function checkPositive(value: number, name: string, allowZero = false): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${value}`);
  }
  return value;
}

/** torch.optim.AdamW: decoupled weight decay, bias-corrected moments. Set `lr` before a step to schedule it. */
export class AdamW {
  readonly params: readonly Tensor[];
  lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  #state: (AdamWParamState | null)[];

  constructor(params: readonly Tensor[], options: AdamWOptions = {}) {
    this.params = [...params];
    this.lr = checkPositive(options.lr ?? 1e-3, 'AdamW lr', true);
    this.betas = options.betas ?? [0.9, 0.999];
    for (const [i, b] of this.betas.entries()) {
      if (!(b >= 0 && b < 1)) throw new RangeError(`AdamW betas[${i}] must be in [0, 1), got ${b}`);
    }
    this.eps = checkPositive(options.eps ?? 1e-8, 'AdamW eps');
    this.weightDecay = checkPositive(options.weightDecay ?? 0.01, 'AdamW weightDecay', true);
    this.#state = this.params.map(() => null);
    const low = this.params.find((p) => p.dtype === 'bfloat16' || p.dtype === 'float16');
    if (low !== undefined) {
      process.emitWarning(
        `AdamW over ${low.dtype} parameters keeps its moments in ${low.dtype} and adds each update to ${low.dtype} weights, so updates below half a weight's last place ` +
          `(${low.dtype === 'bfloat16' ? '0.2-0.4%' : '0.025-0.05%'} of it) are rounded away; MixedPrecisionAdamW keeps float32 master weights and moments`,
        { code: 'INTUITOR_LOW_PRECISION_ADAMW' },
      );
    }
  }

  /** Updates every parameter that has a gradient. */
  step(): void {
    const [beta1, beta2] = this.betas;
    noGrad(() => {
      this.params.forEach((param, i) => {
        const grad = param.grad;
        if (grad === null) return; // PyTorch skips parameters without a gradient, step count included
        grad.dispose();
        let state = this.#state[i];
        if (state === null || state === undefined) {
          state = { step: 0, expAvg: zerosLike(param).keep(), expAvgSq: zerosLike(param).keep() };
          this.#state[i] = state;
        }
        state.step += 1;
        native.adamwStep(param.handle, state.expAvg.handle, state.expAvgSq.handle, state.step, this.lr, beta1, beta2, this.eps, this.weightDecay);
      });
    });
  }

  zeroGrad(): void {
    zeroGrad(this.params);
  }

  /** The state to checkpoint. The tensors are the optimizer's own: save them, do not dispose them. */
  stateDict(): AdamWStateDict {
    return {
      options: { lr: this.lr, betas: this.betas, eps: this.eps, weightDecay: this.weightDecay },
      state: this.#state.map((s) => (s === null ? null : { ...s })),
    };
  }

  /** Restores a state saved by stateDict(); the tensors are copied, so the caller keeps ownership of its own. */
  loadStateDict(dict: AdamWStateDict): void {
    if (dict.state.length !== this.params.length) {
      throw new Error(`AdamW state has ${dict.state.length} parameters but this optimizer has ${this.params.length}`);
    }
    dict.state.forEach((s, i) => {
      const param = this.params[i]!;
      if (s !== null && (s.expAvg.shape.join() !== param.shape.join() || s.expAvgSq.shape.join() !== param.shape.join())) {
        throw new Error(`AdamW state for parameter ${i} has shape [${s.expAvg.shape}] but the parameter has [${param.shape}]`);
      }
    });
    this.dispose();
    this.lr = dict.options.lr;
    // The scope frees the cast's intermediate handles; the copies are kept.
    this.#state = scope(() =>
      dict.state.map((s, i) =>
        s === null ? null : { step: s.step, expAvg: s.expAvg.to(this.params[i]!.dtype).clone().keep(), expAvgSq: s.expAvgSq.to(this.params[i]!.dtype).clone().keep() },
      ),
    );
  }

  /** Frees the moment tensors. */
  dispose(): void {
    for (const s of this.#state) {
      s?.expAvg.dispose();
      s?.expAvgSq.dispose();
    }
    this.#state = this.params.map(() => null);
  }
}

export interface SgdOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** torch.optim.SGD (dampening 0). */
export class SGD {
  readonly params: readonly Tensor[];
  lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  #buffers: (Tensor | null)[];

  constructor(params: readonly Tensor[], options: SgdOptions) {
    this.params = [...params];
    this.lr = checkPositive(options.lr, 'SGD lr', true);
    this.momentum = checkPositive(options.momentum ?? 0, 'SGD momentum', true);
    this.weightDecay = checkPositive(options.weightDecay ?? 0, 'SGD weightDecay', true);
    this.nesterov = options.nesterov ?? false;
    if (this.nesterov && this.momentum === 0) throw new RangeError('SGD nesterov needs a momentum > 0');
    this.#buffers = this.params.map(() => null);
  }

  step(): void {
    noGrad(() => {
      this.params.forEach((param, i) => {
        const grad = param.grad;
        if (grad === null) return;
        let direction = this.weightDecay !== 0 ? grad.add(param, this.weightDecay) : grad;
        if (this.momentum !== 0) {
          let buffer = this.#buffers[i];
          if (buffer === null || buffer === undefined) {
            buffer = direction.clone().keep();
            this.#buffers[i] = buffer;
          } else {
            buffer.mul_(this.momentum).add_(direction);
          }
          const next = this.nesterov ? direction.add(buffer, this.momentum) : buffer;
          if (direction !== grad) direction.dispose();
          direction = next;
        }
        param.add_(direction, -this.lr);
        if (direction !== grad && direction !== this.#buffers[i]) direction.dispose();
        grad.dispose();
      });
    });
  }

  zeroGrad(): void {
    zeroGrad(this.params);
  }

  dispose(): void {
    for (const b of this.#buffers) b?.dispose();
    this.#buffers = this.params.map(() => null);
  }
}

/**
 * The learning rate at `step` (0-based) of a linear warmup to peakLr over warmupSteps, then a
 * half-cosine decay to minLr at totalSteps (Hugging Face's get_cosine_schedule_with_warmup when minLr = 0).
 */
export function cosineWithWarmup(step: number, options: { peakLr: number; totalSteps: number; warmupSteps: number; minLr?: number }): number {
  const { peakLr, totalSteps, warmupSteps } = options;
  const minLr = options.minLr ?? 0;
  if (step < warmupSteps) return (peakLr * step) / Math.max(1, warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
  return minLr + (peakLr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
