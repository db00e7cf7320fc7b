// Log-probabilities of completion tokens under a model, for the policy-gradient loss, with the
// per-token statistics of the same logits (detached) for rewards and metrics.
//
// The batch is packed as in model/pack.ts (completions right-aligned in the last R columns), so
// one forward gives the hidden states of every predicting position; only those R positions go
// through the LM head, and through the fused chunked kernel (native/src/linear-logprob.cc): the
// logits [B, R, V] are never materialised, in forward or backward (extra memory O(chunk x V)), and
// the statistics come from the same chunks of logits.

import * as torch from '../torch/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import type { PackedBatch } from '../model/pack.ts';

// Rows per chunk: about 128 MiB of float32 logits (a few such buffers live at once), at most 1024
// rows: 1024 for V = 32000, 220 for Qwen's V = 151936.
const chunkBytes = 128 * 1024 * 1024;
const chunkRowsFor = (vocab: number): number => Math.max(1, Math.min(1024, Math.floor(chunkBytes / (4 * vocab))));

export interface CompletionLogprobs {
  /** [B, R] log p(token) under softmax(logits / temperature); differentiable unless under noGrad */
  logprobs: torch.Tensor;
  /** [B, R] KL(U || p) per token on logits / certaintyTemperature (detached) */
  selfCertainty: torch.Tensor;
  /** [B, R] entropy per token on the raw logits (detached) */
  entropy: torch.Tensor;
}

export function completionLogprobs(model: CausalLM, batch: PackedBatch, options: LogprobOptions): CompletionLogprobs {
  return torch.scope(() => {
    const { ids, attentionMask } = batchTensors(model, batch);
    const hidden = model.forward(ids, { attentionMask, output: 'hidden' }); // [B, L, d]
    return logprobsFromHidden(model, hidden, ids, batch, options);
  });
}

/**
 * Backpropagates `loss(completionLogprobs(model, batch))` with gradient checkpointing: each decoder
 * layer is recomputed in backward (torch.checkpointedBackward), so the parameters get the same
 * gradients while activations are kept for one layer at a time. `gradScale` multiplies the loss's
 * gradient (a float16 loss scale). Returns the loss's value.
 */
export function checkpointedCompletionBackward(model: CausalLM, batch: PackedBatch, options: LogprobOptions, loss: (out: CompletionLogprobs) => torch.Tensor, gradScale = 1): number {
  return torch.scope(() => {
    const { ids, attentionMask } = batchTensors(model, batch);
    const chain = model.checkpointedChain(ids, { attentionMask }, (hidden) => loss(logprobsFromHidden(model, hidden, ids, batch, options)));
    return torch.checkpointedBackward(chain, { gradScale });
  });
}

/**
 * Whether `--gradient-checkpointing` (auto, on, off) recomputes the layers of `model`. auto turns it
 * on from 400M parameters: there a micro-batch's activations outweigh the weights several times.
 * For Qwen2.5-0.5B (24 layers, hidden 896, intermediate 4864, 14 heads) backward keeps about
 * (6 x 896 + 4 x 4864 + 14 x 512) float32 values per token and layer at 512 positions, ~130 KB,
 * so 8 sequences of 512 tokens hold ~13 GB against 2 GB of float32 weights; recomputing costs one
 * more forward, about a third more step time. Small models (the embedded ones) keep it off: their
 * activations are small and the extra forward is pure cost.
 */
export function usesGradientCheckpointing(setting: string, model: CausalLM): boolean {
  if (setting === 'on' || setting === 'off') return setting === 'on';
  const parameters = model.parameters().reduce((n, p) => n + p.numel, 0);
  return parameters >= GRADIENT_CHECKPOINTING_FROM;
}
export const GRADIENT_CHECKPOINTING_FROM = 400e6;

export interface LogprobOptions {
  temperature: number;
  certaintyTemperature?: number;
}

// [B, L] token ids and attention mask of a packed batch, on the model's device.
function batchTensors(model: CausalLM, batch: PackedBatch): { ids: torch.Tensor; attentionMask: torch.Tensor } {
  return {
    ids: torch.tensor(batch.inputIds, { dtype: 'int64', device: model.device }),
    attentionMask: torch.tensor(batch.attentionMask, { dtype: 'int64', device: model.device }),
  };
}

// hidden [B, L, d] -> the completion tokens' log-probs and statistics [B, R] (the fused kernel).
function logprobsFromHidden(model: CausalLM, hidden: torch.Tensor, ids: torch.Tensor, batch: PackedBatch, options: LogprobOptions): CompletionLogprobs {
  const { length, completionWidth: width } = batch;
  const predicting = hidden.narrow(1, length - width - 1, width); // [B, R, d]
  const targets = ids.narrow(1, length - width, width); // [B, R]
  const { logprob, selfCertainty, entropy } = torch.linearLogprobWithStatistics(predicting, model.lmHeadWeight, targets, {
    temperature: options.temperature,
    certaintyTemperature: options.certaintyTemperature ?? 1,
    chunkRows: chunkRowsFor(model.lmHeadWeight.size(0)),
  }); // [B, R] each
  // float32 results, as with logits.float(): a float64 model's chunks compute in float64.
  const f32 = (t: torch.Tensor): torch.Tensor => (t.dtype === 'float32' ? t : t.float());
  return { logprobs: f32(logprob), selfCertainty: f32(selfCertainty), entropy: f32(entropy) };
}
