// Per-token statistics of next-token distributions, computed in chunks by the addon's fused
// kernel (native/src/certainty.cc) from logits or from final hidden states + the LM head.
//
// For the distribution p = softmax(z / T) over V tokens at one position:
//   selfCertainty = KL(U || p) = logsumexp(z) - mean(z) - log V     (Kang et al. 2025, eq. 3)
//   entropy = -sum p log p,  gini = sum p^2,  logprob = log p(target)
// Accumulated in float32 from any input dtype; extra memory O(chunk x V).

import * as torch from '../torch/index.ts';

export interface TokenStatisticsOptions {
  /** the LM head [V, d] when `input` holds final hidden states [N, d] */
  lmHead?: torch.Tensor;
  /** [N] int64: the token each position predicted, for its log-probability */
  targets?: torch.Tensor;
  /** divides the logits first (default 1: the model's own distribution) */
  temperature?: number;
  /** rows per chunk (default: about 2 MiB of float32 logits per chunk, at least 1; 64 through the LM head) */
  chunkRows?: number;
  /** 'certainty' computes only logsumexp and mean (what self-certainty needs): fewer passes */
  only?: 'certainty';
}

/** [N] float32 tensors, one value per row of the input. */
export interface TokenStatistics {
  selfCertainty: torch.Tensor;
  logsumexp: torch.Tensor;
  mean: torch.Tensor;
  /** undefined with only: 'certainty' */
  entropy: torch.Tensor | undefined;
  gini: torch.Tensor | undefined;
  /** undefined without targets */
  logprob: torch.Tensor | undefined;
}

/** Statistics of each row of logits [N, V] (or of hidden [N, d] through options.lmHead). */
export function tokenStatistics(input: torch.Tensor, options: TokenStatisticsOptions = {}): TokenStatistics {
  if (input.ndim !== 2) throw new Error(`tokenStatistics: input must be [rows, V] logits or [rows, d] hidden states, got [${input.shape}]`);
  const vocab = options.lmHead ? options.lmHead.size(0) : input.size(1);
  const chunkRows = options.chunkRows ?? (options.lmHead ? 64 : Math.max(1, Math.floor((2 * 1024 * 1024) / (4 * vocab))));
  const all = options.only !== 'certainty';
  return torch.scope(() => {
    const table = torch.nextTokenStatistics(input, { ...options, chunkRows, all }); // [N, 5]
    const [logsumexp, mean, entropy, gini, logprob] = table.unbind(1) as [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor];
    return {
      selfCertainty: logsumexp.sub(mean).sub(Math.log(vocab)),
      logsumexp: logsumexp.clone(),
      mean: mean.clone(),
      entropy: all ? entropy.clone() : undefined,
      gini: all ? gini.clone() : undefined,
      logprob: options.targets ? logprob.clone() : undefined,
    };
  });
}
