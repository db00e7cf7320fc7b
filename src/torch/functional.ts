// Functions over several tensors and the neural-network building blocks (torch.nn.functional).

import { native, type NativeHandle } from './native.ts';
import type { DType } from './dtype.ts';
import { Tensor, wrap, type ScalarLike } from './tensor.ts';
import { scope } from './scope.ts';

const handles = (tensors: readonly Tensor[], where: string): NativeHandle[] => {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new TypeError(`${where}: expected a non-empty array of tensors`);
  return tensors.map((t) => t.handle);
};

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  return wrap(native.cat(handles(tensors, 'cat'), dim));
}
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  return wrap(native.stack(handles(tensors, 'stack'), dim));
}
/** Elementwise condition ? x : y. */
export function where(condition: Tensor, x: Tensor, y: Tensor | ScalarLike): Tensor {
  return y instanceof Tensor ? wrap(native.where(condition.handle, x.handle, y.handle)) : wrap(native.whereScalar(condition.handle, x.handle, y));
}

/** x [.., in] @ weight [out, in]^T + bias [out] -> [.., out] */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return wrap(native.linear(x.handle, weight.handle, bias?.handle));
}
/** Rows of weight [V, D] at ids [..] -> [.., D] */
export function embedding(ids: Tensor, weight: Tensor): Tensor {
  return wrap(native.embedding(weight.handle, ids.handle));
}
export function softmax(x: Tensor, dim: number, dtype?: DType): Tensor {
  return x.softmax(dim, dtype);
}
export function logSoftmax(x: Tensor, dim: number, dtype?: DType): Tensor {
  return x.logSoftmax(dim, dtype);
}
export function silu(x: Tensor): Tensor {
  return x.silu();
}
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  return x.gelu(approximate);
}
/**
 * RMSNorm as Hugging Face's Llama/Qwen modules compute it: normalised in float32, cast back to
 * x's dtype, then scaled by weight. x [.., D], weight [D].
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  return wrap(native.rmsNorm(x.handle, weight.handle, eps));
}

export type Reduction = 'none' | 'mean' | 'sum';
// The addon's reduction codes.
const reductions: Record<Reduction, 0 | 1 | 2> = { none: 0, mean: 1, sum: 2 };

/** Cross entropy of logits [N, C] against class ids [N] (int64); targets equal to ignoreIndex count for nothing. */
export function crossEntropy(logits: Tensor, target: Tensor, options: { ignoreIndex?: number; reduction?: Reduction } = {}): Tensor {
  const reduction = options.reduction ?? 'mean';
  if (!(reduction in reductions)) throw new TypeError(`crossEntropy: reduction must be 'none', 'mean' or 'sum', got ${JSON.stringify(reduction)}`);
  return wrap(native.crossEntropy(logits.handle, target.handle, options.ignoreIndex ?? -100, reductions[reduction]));
}

export interface AttentionOptions {
  /** boolean (true = may attend) or additive float mask, broadcastable to [.., Tq, Tk] */
  mask?: Tensor | null;
  /** causal attention; the queries are the last Tq of the Tk positions */
  isCausal?: boolean;
  /** defaults to 1/sqrt(head size) */
  scale?: number;
  /** false forces the composed reference implementation */
  allowFused?: boolean;
}

/**
 * softmax(q k^T * scale + mask) v with q [.., Tq, D], k and v [.., Tk, D] -> [.., Tq, D].
 * Uses libtorch's fused kernel where the linked version has one, else the composed definition;
 * both give the same results (a test checks it).
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  return wrap(native.scaledDotProductAttention(q.handle, k.handle, v.handle, options.mask?.handle, options.isCausal ?? false, options.scale, options.allowFused ?? true));
}

export function hasFusedAttention(): boolean {
  return native.hasFusedAttention();
}

/**
 * Fused statistics of the next-token distribution softmax(z / temperature) of each row, computed in
 * row chunks (extra memory O(chunk x V)): input is logits [N, V], or hidden states [N, d] with
 * lmHead [V, d]. Returns [N, 5] float32 columns: logsumexp, mean logit, entropy, sum p^2, and the
 * log-probability of targets [N] (NaN where not asked for: entropy and sum p^2 unless `all`).
 */
export function nextTokenStatistics(
  input: Tensor,
  options: { lmHead?: Tensor; targets?: Tensor; temperature?: number; chunkRows: number; all: boolean },
): Tensor {
  return wrap(native.tokenStatistics(input.handle, options.lmHead?.handle, options.targets?.handle, options.temperature ?? 1, options.chunkRows, options.all));
}

export interface LinearLogprobOptions {
  /** divides the logits first (default 1) */
  temperature?: number;
  /** rows of logits per chunk (default 1024): the extra memory is a few chunkRows x V floats */
  chunkRows?: number;
}

/** [N] log-probabilities and, detached, [N] statistics of the same rows' raw logits. */
export interface LinearLogprobStatistics {
  logprob: Tensor;
  /** KL(U || softmax(logits / certaintyTemperature)) = logsumexp - mean - log V */
  selfCertainty: Tensor;
  /** entropy of softmax(logits) (temperature 1) */
  entropy: Tensor;
}

// hidden [.., d] and targets [..] -> the native call on [N, d] and [N], results viewed back to [..].
function linearLogprobCall(hidden: Tensor, weight: Tensor, targets: Tensor, options: LinearLogprobOptions, certaintyTemperature?: number): Tensor[] {
  const lead = hidden.shape.slice(0, -1);
  if (hidden.ndim < 1 || targets.shape.join() !== lead.join()) {
    throw new Error(`linearLogprob: hidden [${hidden.shape}] must be [.., d] and targets [${targets.shape}] its leading dims [${lead}]`);
  }
  const chunkRows = options.chunkRows ?? 1024;
  return scope(() => {
    const flatHidden = hidden.reshape(-1, hidden.size(-1)); // [N, d]
    const flatTargets = targets.reshape(-1); // [N]
    const temperature = options.temperature ?? 1;
    // With a certaintyTemperature the addon returns [logprob, statistics], else logprob alone.
    const [logprob, statistics] =
      certaintyTemperature === undefined
        ? [wrap(native.linearLogprob(flatHidden.handle, weight.handle, flatTargets.handle, temperature, chunkRows))]
        : native.linearLogprob(flatHidden.handle, weight.handle, flatTargets.handle, temperature, chunkRows, certaintyTemperature).map(wrap);
    const results = [logprob!.view(lead)];
    if (statistics) results.push(...statistics.unbind(1).map((column) => column.contiguous().view(lead)));
    return results;
  });
}

/**
 * log_softmax((hidden @ weight^T).float() / temperature)[targets], fused and chunked with its own
 * backward (native/src/linear-logprob.cc): the [.., V] logits never exist, in forward or backward.
 * hidden [.., d] and weight [V, d] (float32, bfloat16 or float16; float64 stays float64), targets
 * [..] int64 -> [..] float32; differentiable wrt hidden and weight.
 */
export function linearLogprob(hidden: Tensor, weight: Tensor, targets: Tensor, options: LinearLogprobOptions = {}): Tensor {
  return linearLogprobCall(hidden, weight, targets, options)[0]!;
}

/** linearLogprob, plus the self-certainty and entropy of the same logits (detached), in the same pass. */
export function linearLogprobWithStatistics(
  hidden: Tensor,
  weight: Tensor,
  targets: Tensor,
  options: LinearLogprobOptions & { certaintyTemperature?: number } = {},
): LinearLogprobStatistics {
  const [logprob, selfCertainty, entropy] = linearLogprobCall(hidden, weight, targets, options, options.certaintyTemperature ?? 1) as [Tensor, Tensor, Tensor];
  return { logprob, selfCertainty, entropy };
}
