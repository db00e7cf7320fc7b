// The GRPO policy loss, per token, as TRL's GRPOTrainer computes it (Intuitor trains with it):
//
//   ratio_t   = exp(logp_t - logp_old_t)                       (1 with one update per rollout)
//   surrogate = -min(ratio_t A, clip(ratio_t, 1 - eps_low, 1 + eps_high) A)
//   kl_t      = exp(ref_t - logp_t) - (ref_t - logp_t) - 1     (k3 estimator, >= 0)
//   loss_t    = surrogate + beta kl_t
//
// aggregated over the completion tokens (mask) as
//   grpo:    mean over sequences of each sequence's token mean
//   bnpo:    token mean over the whole batch
//   dr_grpo: token sum / (B x maxCompletionLength)           (Dr. GRPO: no length normalisation)
// Gradients flow through logp only: advantages, old and reference log-probs are constants.

import * as torch from '../torch/index.ts';

export type LossType = 'grpo' | 'bnpo' | 'dr_grpo';

export interface PolicyLossInput {
  /** [B, R] log-probs of the completion tokens under the policy being trained (with grad) */
  logprobs: torch.Tensor;
  /** [B, R] the same under the policy that sampled them; omitted = logprobs detached (ratio 1) */
  oldLogprobs?: torch.Tensor;
  /** [B, R] under the frozen reference (needed when beta > 0) */
  refLogprobs?: torch.Tensor;
  /** [B] */
  advantages: torch.Tensor;
  /** [B, R] 1 for completion tokens, 0 for padding */
  mask: torch.Tensor;
}

export interface PolicyLossOptions {
  beta: number;
  epsilonLow: number;
  epsilonHigh: number;
  lossType: LossType;
  /** the completion-length limit, for dr_grpo's normaliser */
  maxCompletionLength: number;
}

export interface PolicyLoss {
  /** scalar, differentiable */
  loss: torch.Tensor;
  /** mean k3 KL per completion token (0 when beta = 0) */
  kl: number;
  /** share of completion tokens whose ratio was clipped (in the direction that matters) */
  clipFraction: number;
}

export function policyLoss(input: PolicyLossInput, options: PolicyLossOptions): PolicyLoss {
  const { logprobs, advantages, mask } = input;
  if (logprobs.ndim !== 2 || mask.shape.join() !== logprobs.shape.join()) {
    throw new Error(`policyLoss: logprobs [${logprobs.shape}] and mask [${mask.shape}] must both be [batch, tokens]`);
  }
  if (advantages.shape.join() !== String(logprobs.size(0))) throw new Error(`policyLoss: advantages [${advantages.shape}] must be [${logprobs.size(0)}]`);
  if (options.beta > 0 && input.refLogprobs === undefined) throw new Error('policyLoss: beta > 0 needs refLogprobs (or set beta to 0)');
  return torch.scope(() => {
    const m = mask.to(logprobs.dtype);
    const old = (input.oldLogprobs ?? logprobs).detach();
    const ratio = logprobs.sub(old).exp(); // [B, R]
    const a = advantages.detach().to(logprobs.dtype).unsqueeze(1); // [B, 1]
    const unclipped = ratio.mul(a);
    const clipped = ratio.clamp(1 - options.epsilonLow, 1 + options.epsilonHigh).mul(a);
    let perToken = unclipped.minimum(clipped).neg(); // [B, R]
    let kl: torch.Tensor | undefined;
    if (options.beta > 0) {
      const delta = input.refLogprobs!.detach().sub(logprobs); // ref - logp
      kl = delta.exp().sub(delta).sub(1); // [B, R]
      perToken = perToken.add(kl.mul(options.beta));
    }
    const masked = perToken.mul(m);
    let loss: torch.Tensor;
    switch (options.lossType) {
      case 'grpo':
        loss = masked.sum(1).div(m.sum(1).clamp(1)).mean();
        break;
      case 'bnpo':
        loss = masked.sum().div(m.sum().clamp(1));
        break;
      case 'dr_grpo':
        loss = masked.sum().div(logprobs.size(0) * options.maxCompletionLength);
        break;
      default:
        throw new Error(`unknown lossType ${JSON.stringify(options.lossType)}; expected grpo, bnpo or dr_grpo`);
    }
    const tokens = Math.max(1, m.sum().item());
    // Clipped where the clip changes the objective: ratio below 1 - eps with A < 0, above 1 + eps with A > 0.
    const clippedLow = ratio.lt(1 - options.epsilonLow).logicalAnd(a.lt(0));
    const clippedHigh = ratio.gt(1 + options.epsilonHigh).logicalAnd(a.gt(0));
    const clipFraction = clippedLow.logicalOr(clippedHigh).to(logprobs.dtype).mul(m).sum().item() / tokens;
    return { loss, kl: kl ? kl.detach().mul(m).sum().item() / tokens : 0, clipFraction };
  });
}
