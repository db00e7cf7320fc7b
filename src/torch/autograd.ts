// Grad mode, gradient utilities.

import { native } from './native.ts';
import type { Tensor } from './tensor.ts';

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

function withGradMode<T>(enabled: boolean, fn: () => T, name: string): T {
  const previous = native.isGradEnabled();
  native.setGradEnabled(enabled);
  let result: T;
  try {
    result = fn();
  } finally {
    native.setGradEnabled(previous);
  }
  if (result instanceof Promise) {
    // Grad mode belongs to the thread, not to the async function: it would leak across awaits.
    throw new TypeError(`${name}(fn): fn returned a Promise; grad mode applies to synchronous work only. Await outside, or call ${name} inside each step.`);
  }
  return result;
}

/** Runs fn without recording operations for autograd (inference, optimizer updates, rollouts). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn, 'noGrad');
}

/** Runs fn with autograd recording on, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn, 'enableGrad');
}

/** Clears the gradients of params (sets them to none, as PyTorch's zero_grad(set_to_none=True)). */
export function zeroGrad(params: readonly Tensor[]): void {
  for (const p of params) p.grad = null;
}

/**
 * Scales the gradients of params in place so that their global norm is at most maxNorm, as
 * torch.nn.utils.clip_grad_norm_. Returns the total norm before clipping (log it as "grad norm").
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number, options: { normType?: number; errorIfNonfinite?: boolean } = {}): number {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be positive, got ${maxNorm}`);
  return native.clipGradNorm(
    params.map((p) => p.handle),
    maxNorm,
    options.normType ?? 2,
    options.errorIfNonfinite ?? false,
  );
}
