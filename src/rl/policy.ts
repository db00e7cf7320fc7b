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

export function completionLogprobs(model: CausalLM, batch: PackedBatch, options: { temperature: number; certaintyTemperature?: number }): CompletionLogprobs {
  const { length, completionWidth: width } = batch;
  return torch.scope(() => {
    const ids = torch.tensor(batch.inputIds, { dtype: 'int64', device: model.device }); // [B, L]
    const attentionMask = torch.tensor(batch.attentionMask, { dtype: 'int64', device: model.device });
    const hidden = model.forward(ids, { attentionMask, output: 'hidden' }); // [B, L, d]
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
  });
}
