// Mixed-precision AdamW: the model computes forward and backward in its own dtype (bfloat16, or
// float16 with dynamic loss scaling) while the optimizer holds float32 master weights and float32
// moments, as in Micikevicius et al. 2018 ("Mixed Precision Training") and PyTorch AMP:
//
//   backward(loss)   (loss x scale).backward(); each low-precision gradient is added to its
//                    master's float32 gradient and freed, so micro-batches accumulate in float32
//   clipGradNorm()   unscales the float32 gradients (1 / scale) and clips them
//   step()           skips the step when a gradient is Inf/NaN (float16), else AdamW on the
//                    masters, then copies each master, rounded to nearest, into its parameter
//
// Why: a bfloat16 weight has 8 significant bits, so an update below half its last place (0.2-0.4%
// of the weight) rounds away; AdamW's updates are about lr per step, 3e-6 in the Intuitor recipe.
// The master accumulates them until the rounded copy moves.
//
// Parameters that are already float32 (or float64) are their own masters: with float32 parameters
// this is exactly AdamW. Memory per parameter: see README's training section.

import { noGrad, clipGradNorm, zeroGrad } from './autograd.ts';
import { GradScaler, type GradScalerOptions, type GradScalerState } from './grad-scaler.ts';
import { AdamW, type AdamWOptions, type AdamWStateDict } from './optim.ts';
import { scope } from './scope.ts';
import type { Tensor } from './tensor.ts';

export interface MixedPrecisionAdamWOptions extends AdamWOptions {
  /**
   * Initial float32 values of the master weights, in parameter order (e.g. the float32 weights a
   * bfloat16 model was loaded from); copied. Default: the parameters themselves, widened.
   */
  masters?: readonly Tensor[];
  /** dynamic loss scaling: true for PyTorch's defaults, or its options. Default: on when a parameter is float16 */
  lossScaling?: boolean | GradScalerOptions;
}

export interface MixedPrecisionStateDict {
  /** AdamW's state over the float32 masters */
  adamw: AdamWStateDict;
  /** per parameter, its float32 master; null where the parameter is its own master (float32) */
  masters: (Tensor | null)[];
  lossScale: GradScalerState | null;
}

const isLowPrecision = (t: Tensor) => t.dtype === 'bfloat16' || t.dtype === 'float16';

/** A parameter's float32 master (the parameter itself when it is float32 or wider), from `source` when given. */
function masterFor(param: Tensor, source: Tensor | undefined, index: number): Tensor {
  if (source && source.shape.join() !== param.shape.join()) {
    throw new Error(`MixedPrecisionAdamW: master weight ${index} has shape [${source.shape}] but the parameter has [${param.shape}]`);
  }
  if (!isLowPrecision(param)) {
    if (source) param.copy_(source);
    return param;
  }
  const from = source ?? param;
  const master = (from.dtype === 'float32' ? from.detach().clone() : from.to('float32')).keep().requiresGrad_(true);
  if (source) param.copy_(master); // the compute weights are always the rounded masters
  return master;
}

export class MixedPrecisionAdamW {
  /** the model's parameters (compute dtype) */
  readonly params: readonly Tensor[];
  /** float32 master weights; their .grad holds the step's float32 gradient (sum it over processes here) */
  readonly masters: readonly Tensor[];
  readonly scaler: GradScaler | undefined;
  readonly #adamw: AdamW;
  /** the gradients of this step are divided by the scale already */
  #unscaled = false;
  #nonFinite = false;

  constructor(params: readonly Tensor[], options: MixedPrecisionAdamWOptions = {}) {
    const { masters: initial, lossScaling, ...adamwOptions } = options;
    this.params = [...params];
    if (initial && initial.length !== this.params.length) {
      throw new Error(`MixedPrecisionAdamW: ${initial.length} master weights given for ${this.params.length} parameters`);
    }
    // A scope frees the intermediate handles (detach, casts); the masters are kept.
    this.masters = noGrad(() => scope(() => this.params.map((param, i) => masterFor(param, initial?.[i], i))));
    const scaling = lossScaling ?? this.params.some((p) => p.dtype === 'float16');
    this.scaler = scaling === false ? undefined : new GradScaler(scaling === true ? {} : scaling);
    this.#adamw = new AdamW(this.masters, adamwOptions);
  }

  get lr(): number {
    return this.#adamw.lr;
  }
  set lr(value: number) {
    this.#adamw.lr = value;
  }

  /** The current loss scale (1 without loss scaling). */
  get lossScale(): number {
    return this.scaler?.scale ?? 1;
  }

  /** Backpropagates `loss` (scaled when loss scaling is on) and adds the gradients to the masters' float32 gradients. */
  backward(loss: Tensor): void {
    if (this.#unscaled) throw new Error('MixedPrecisionAdamW: backward() after clipGradNorm() and before step(); the gradients of this step were already unscaled');
    if (this.scaler) {
      const scale = this.scaler.scale;
      // Scaled in float32: a float16 loss times 2^16 would overflow before backward starts.
      scope(() => loss.float().mul(scale).backward());
    } else {
      loss.backward();
    }
    this.accumulateGradients();
  }

  /**
   * backward() for a backward pass the caller runs itself (gradient checkpointing): `run` must
   * backpropagate its loss with the loss's gradient multiplied by `gradScale` (the loss scale, 1
   * without scaling); the gradients then go to the masters as backward() sends them.
   */
  backwardWith(run: (gradScale: number) => void): void {
    if (this.#unscaled) throw new Error('MixedPrecisionAdamW: backwardWith() after clipGradNorm() and before step(); the gradients of this step were already unscaled');
    run(this.scaler?.scale ?? 1);
    this.accumulateGradients();
  }

  /** Moves the parameters' low-precision gradients into the masters' float32 ones (backward() does this). */
  accumulateGradients(): void {
    noGrad(() =>
      scope(() => {
        this.params.forEach((param, i) => {
          const master = this.masters[i]!;
          if (master === param) return;
          const grad = param.grad;
          if (grad === null) return;
          const sum = master.grad;
          if (sum === null) master.grad = grad.to('float32');
          else sum.add_(grad);
          param.grad = null;
        });
      }),
    );
  }

  // Divides the float32 gradients by the loss scale once per step and notes whether any is Inf/NaN.
  #unscale(): void {
    if (this.#unscaled || !this.scaler) return;
    const inverse = 1 / this.scaler.scale;
    this.#nonFinite = noGrad(() =>
      scope(() => {
        let bad = 0;
        const counts: Tensor[] = [];
        for (const master of this.masters) {
          const grad = master.grad;
          if (grad === null) continue;
          grad.mul_(inverse);
          counts.push(grad.isfinite().logicalNot().sum());
        }
        // One read for the whole model rather than one sync per parameter.
        if (counts.length > 0) bad = counts.reduce((a, b) => a.add(b)).item();
        return bad > 0;
      }),
    );
    this.#unscaled = true;
  }

  /** Unscales, then clips the float32 gradients to a global norm of maxNorm; returns the norm before clipping (NaN/Inf on a step that will be skipped). */
  clipGradNorm(maxNorm: number, options: { normType?: number } = {}): number {
    this.#unscale();
    return clipGradNorm(this.masters, maxNorm, options);
  }

  /** Updates the masters and rounds them into the parameters; returns false when the step was skipped for non-finite gradients. */
  step(): boolean {
    this.#unscale();
    const skip = this.#nonFinite;
    this.#unscaled = false;
    this.#nonFinite = false;
    if (skip) {
      this.scaler!.update(true);
      return false;
    }
    this.#adamw.step();
    noGrad(() => {
      this.params.forEach((param, i) => {
        const master = this.masters[i]!;
        if (master !== param) param.copy_(master); // round to nearest even, as PyTorch's casts
      });
    });
    this.scaler?.update(false);
    return true;
  }

  zeroGrad(): void {
    zeroGrad(this.params);
    zeroGrad(this.masters);
  }

  /** The state to checkpoint; the tensors are the optimizer's own: save them, do not dispose them. */
  stateDict(): MixedPrecisionStateDict {
    return {
      adamw: this.#adamw.stateDict(),
      masters: this.masters.map((master, i) => (master === this.params[i] ? null : master)),
      lossScale: this.scaler?.stateDict() ?? null,
    };
  }

  /**
   * Restores a stateDict(); tensors are copied. A master missing from `masters` (a checkpoint made
   * without them) keeps its current value, the parameter widened. The parameters are set to the
   * rounded masters.
   */
  loadStateDict(dict: { adamw: AdamWStateDict; masters?: readonly (Tensor | null)[]; lossScale?: GradScalerState | null }): void {
    if (dict.masters && dict.masters.length !== this.params.length) {
      throw new Error(`MixedPrecisionAdamW state has ${dict.masters.length} master weights but this optimizer has ${this.params.length} parameters`);
    }
    dict.masters?.forEach((saved, i) => {
      if (saved && saved.shape.join() !== this.params[i]!.shape.join()) {
        throw new Error(`MixedPrecisionAdamW master weight ${i} has shape [${saved.shape}] but the parameter has [${this.params[i]!.shape}]`);
      }
    });
    this.#adamw.loadStateDict(dict.adamw);
    noGrad(() => {
      dict.masters?.forEach((saved, i) => {
        if (saved === null) return;
        const master = this.masters[i]!;
        master.copy_(saved);
        if (master !== this.params[i]) this.params[i]!.copy_(master);
      });
    });
    if (this.scaler && dict.lossScale) this.scaler.loadStateDict(dict.lossScale);
    this.#unscaled = false;
    this.#nonFinite = false;
  }

  /** Frees the moments and the master weights; the optimizer cannot be used afterwards. */
  dispose(): void {
    this.#adamw.dispose();
    this.masters.forEach((master, i) => {
      if (master !== this.params[i]) master.dispose();
    });
  }
}
