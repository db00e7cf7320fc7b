// Gradient checkpointing by segments (activation recomputation; Chen et al. 2016, "Training Deep
// Nets with Sublinear Memory Cost"), as torch.utils.checkpoint does per module.
//
// A model's forward is written as a chain: `first()` (e.g. the embedding), then segments (e.g. one
// per decoder layer), then a head that ends in a scalar loss. The chain runs forward without
// recording any graph, keeping only each segment's input (the boundaries). Backward then goes from
// the end: the head runs with a graph from a leaf at the last boundary, and each segment, last to
// first, is recomputed from its stored input with a graph and backpropagated with the gradient that
// arrived at its output. Parameter gradients accumulate exactly as in one backward over the whole
// chain; activation memory is the boundaries plus one segment's graph, for one extra forward.
//
// The segments must be deterministic (no dropout): the recomputed forward must be the forward.

import { enableGrad, noGrad } from './autograd.ts';
import { scope } from './scope.ts';
import type { Tensor } from './tensor.ts';

export interface CheckpointedChain {
  /** the chain's first output (recomputed with a graph last, so its parameters get gradients) */
  first: () => Tensor;
  /** each maps the previous output to the next */
  segments: readonly ((input: Tensor) => Tensor)[];
  /** the last output -> a scalar loss */
  head: (last: Tensor) => Tensor;
}

/**
 * Backpropagates chain.head(...segments(first())) with recomputation; the loss's gradient is
 * multiplied by `gradScale` (a loss scale for float16; default 1). Returns the loss's value.
 */
export function checkpointedBackward(chain: CheckpointedChain, options: { gradScale?: number } = {}): number {
  const gradScale = options.gradScale ?? 1;
  return scope(() => {
    // Forward without a graph; inputs[i] is segment i's input.
    const inputs: Tensor[] = [];
    let output = noGrad(() => chain.first());
    for (const segment of chain.segments) {
      inputs.push(output);
      const input = output;
      output = noGrad(() => segment(input));
    }
    return enableGrad(() => {
      const last = output.detach().requiresGrad_();
      const lossValue = scope(() => {
        const loss = chain.head(last);
        if (loss.numel !== 1) throw new Error(`checkpointedBackward: the head must return a scalar loss, got shape [${loss.shape}]`);
        (gradScale === 1 ? loss : loss.float().mul(gradScale)).backward();
        return loss.item();
      });
      let gradient = arrivedGradient(last, 'the head');
      for (let i = chain.segments.length - 1; i >= 0; i--) {
        const input = inputs[i]!.detach().requiresGrad_();
        const incoming = gradient;
        scope(() => chain.segments[i]!(input).backward(incoming));
        gradient = arrivedGradient(input, `segment ${i}`);
      }
      const incoming = gradient;
      scope(() => chain.first().backward(incoming));
      return lossValue;
    });
  });
}

function arrivedGradient(leaf: Tensor, what: string): Tensor {
  const gradient = leaf.grad;
  if (gradient === null) throw new Error(`checkpointedBackward: no gradient reached the input of ${what}; does its output depend on its input?`);
  return gradient;
}
