// Dynamic loss scaling for float16 training, as torch.cuda.amp.GradScaler does it.
//
// float16 has 5 exponent bits: gradients below about 6e-8 flush to zero and above 65504 overflow.
// The loss is multiplied by `scale` before backward so that small gradients stay representable;
// the gradients are divided by it again (in float32) before clipping and the optimizer step. A step
// whose gradients hold an Inf or NaN is skipped and the scale backs off; after `growthInterval`
// steps in a row without one, the scale grows. PyTorch's defaults: 2^16, x2, x0.5, every 2000 steps.
//
// The scale lives here as a JS number (PyTorch keeps it on the device to avoid a sync); the trainer
// reads one "found non-finite" flag per step anyway, so the sync costs nothing extra.

export interface GradScalerOptions {
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
}

/** What a checkpoint needs to continue the scale exactly. */
export interface GradScalerState {
  scale: number;
  growthTracker: number;
}

export class GradScaler {
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;
  #scale: number;
  /** successful (all-finite) steps since the scale last changed */
  #growthTracker = 0;

  constructor(options: GradScalerOptions = {}) {
    this.#scale = options.initScale ?? 2 ** 16;
    this.growthFactor = options.growthFactor ?? 2;
    this.backoffFactor = options.backoffFactor ?? 0.5;
    this.growthInterval = options.growthInterval ?? 2000;
    if (!(this.#scale > 0 && Number.isFinite(this.#scale))) throw new RangeError(`GradScaler initScale must be a positive finite number, got ${this.#scale}`);
    if (!(this.growthFactor > 1)) throw new RangeError(`GradScaler growthFactor must be above 1, got ${this.growthFactor}`);
    if (!(this.backoffFactor > 0 && this.backoffFactor < 1)) throw new RangeError(`GradScaler backoffFactor must be in (0, 1), got ${this.backoffFactor}`);
    if (!(Number.isInteger(this.growthInterval) && this.growthInterval >= 1)) throw new RangeError(`GradScaler growthInterval must be a positive integer, got ${this.growthInterval}`);
  }

  /** The factor the loss is multiplied by before backward. */
  get scale(): number {
    return this.#scale;
  }

  get growthTracker(): number {
    return this.#growthTracker;
  }

  /** After each step: back off when its gradients were not finite (the step was skipped), else count towards growth. */
  update(foundNonFinite: boolean): void {
    if (foundNonFinite) {
      this.#scale *= this.backoffFactor;
      this.#growthTracker = 0;
      return;
    }
    this.#growthTracker += 1;
    if (this.#growthTracker === this.growthInterval) {
      const grown = this.#scale * this.growthFactor;
      // PyTorch grows only to a finite scale.
      if (Number.isFinite(grown)) this.#scale = grown;
      this.#growthTracker = 0;
    }
  }

  stateDict(): GradScalerState {
    return { scale: this.#scale, growthTracker: this.#growthTracker };
  }

  loadStateDict(state: GradScalerState): void {
    if (!(state.scale > 0 && Number.isFinite(state.scale)) || !Number.isInteger(state.growthTracker) || state.growthTracker < 0) {
      throw new Error(`GradScaler state must have a positive finite scale and a non-negative integer growthTracker, got ${JSON.stringify(state)}`);
    }
    this.#scale = state.scale;
    this.#growthTracker = state.growthTracker;
  }
}
