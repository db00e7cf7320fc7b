// Log-probabilities of completion tokens under a model, for the policy-gradient loss, with the
// per-token statistics of the same logits (detached) for rewards and metrics.
//
// The batch is packed as in model/pack.ts (completions right-aligned in the last R columns), so
// one forward gives the hidden states of every predicting position; only those R positions go
// through the LM head: logits [B, R, V], not [B, L, V].

import * as torch from '../torch/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import type { PackedBatch } from '../model/pack.ts';
import { tokenStatistics } from '../certainty/token-statistics.ts';

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
    const logits = torch.linear(predicting, model.lmHeadWeight).float(); // [B, R, V]
    const logprobs = logits.div(options.temperature).logSoftmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1); // [B, R]
    const [batchSize] = ids.shape as [number];
    const stats = torch.noGrad(() => {
      const flat = logits.detach().reshape(-1, logits.size(-1)); // [B * R, V]
      const scored = tokenStatistics(flat, { temperature: options.certaintyTemperature ?? 1 });
      const raw = options.certaintyTemperature === undefined || options.certaintyTemperature === 1 ? scored : tokenStatistics(flat);
      return { selfCertainty: scored.selfCertainty.view(batchSize, width), entropy: raw.entropy!.view(batchSize, width) };
    });
    return { logprobs, ...stats };
  });
}
