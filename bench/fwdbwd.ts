// The forward+backward workload bench/train.ts and bench/gpu-check.ts share: a fixed packed batch of
// prompt + completion token ids, and intuitor's side of one GRPO micro-batch on it (completionLogprobs
// -> policyLoss (grpo, beta 0) -> backward), timed; bench/train.py computes the same in PyTorch.

import * as torch from '../src/torch/index.ts';
import type { CausalLM } from '../src/model/causal-lm.ts';
import { packPromptCompletions, type PackedBatch } from '../src/model/pack.ts';
import { completionLogprobs } from '../src/rl/policy.ts';
import { policyLoss } from '../src/rl/loss.ts';
import { nowNs, synchronize } from './harness.ts';

export interface FwdBwdSettings {
  batch: number;
  promptLength: number;
  completionLength: number;
  tokenSeed: number;
  /** row b: prompt promptLength - promptShrink (b % 8) tokens, completion completionLength - completionShrink (b % 4) */
  promptShrink: number;
  completionShrink: number;
  temperature: number;
  epsilon: number;
}

/** bench/train.ts's batch: 16 x (prompt 32 + completion 64), rows shortened so that padding and the completion mask take part. */
export const fwdbwdBatch = { batch: 16, promptLength: 32, completionLength: 64, tokenSeed: 11, promptShrink: 2, completionShrink: 4, temperature: 0.9, epsilon: 0.2 } as const;

/** The packed batch (left padding, completions right-aligned, as model/pack.ts does) and fixed advantages. */
export function fixedBatch(f: FwdBwdSettings, vocab: number, padId: number): { batch: PackedBatch; advantages: number[] } {
  const generator = new torch.Generator(f.tokenSeed);
  const draw = (n: number): number[] => torch.scope(() => Array.from(torch.randint(3, vocab, [n], { generator }).toArray() as BigInt64Array, Number));
  const pairs = Array.from({ length: f.batch }, (_, b) => ({
    prompt: draw(f.promptLength - f.promptShrink * (b % 8)),
    completion: draw(f.completionLength - f.completionShrink * (b % 4)),
  }));
  // Fixed advantages with a non-zero mean, so the loss is not 0 (with one update per rollout, ratio = 1 and loss = -mean(A)).
  const advantages = Array.from({ length: f.batch }, (_, b) => (((b * 7) % f.batch) - 6) / 5);
  return { batch: packPromptCompletions(pairs, padId), advantages };
}

/** Sequences, packed length, completion columns and completion tokens of a packed batch. */
export const batchTokens = (batch: PackedBatch) => ({
  batch: batch.inputIds.length,
  length: batch.length,
  completionWidth: batch.completionWidth,
  completionTokens: batch.completionMask.flat().reduce((a, b) => a + b, 0),
});

export interface FwdBwd {
  ms: number;
  loss: number;
  clip_fraction: number;
  logprob_sum?: number;
  grad_norm?: number;
}

/**
 * completionLogprobs -> policyLoss (grpo, beta 0) -> backward, as the trainer's micro-batch, `reps` times:
 * the mean milliseconds (on CUDA, clocks read after synchronising), the last loss and clip fraction, and
 * with `check` the masked sum of the log-probabilities and the global gradient norm. Gradients are cleared
 * outside the timing; with `keepGrads` the last pass's gradients stay (for an optimizer step).
 */
export function tsFwdBwd(
  model: CausalLM,
  params: torch.Tensor[],
  batch: PackedBatch,
  advantages: number[],
  f: Pick<FwdBwdSettings, 'temperature' | 'epsilon' | 'completionLength'>,
  reps: number,
  check: boolean,
  keepGrads = false,
): FwdBwd {
  const device = model.device;
  let totalMs = 0;
  let loss = NaN;
  let clip = NaN;
  let logprobSum: number | undefined;
  for (let i = 0; i < reps; i++) {
    torch.zeroGrad(params);
    synchronize(device);
    const start = nowNs();
    torch.scope(() => {
      const mask = torch.tensor(batch.completionMask, { dtype: 'float32', device });
      const out = completionLogprobs(model, batch, { temperature: f.temperature });
      const result = policyLoss(
        { logprobs: out.logprobs, advantages: torch.tensor(advantages, { dtype: 'float32', device }), mask },
        { beta: 0, epsilonLow: f.epsilon, epsilonHigh: f.epsilon, lossType: 'grpo', maxCompletionLength: f.completionLength },
      );
      result.loss.backward();
      loss = result.loss.item();
      clip = result.clipFraction;
      if (check) logprobSum = out.logprobs.detach().mul(mask).sum().item();
    });
    synchronize(device);
    totalMs += Number(nowNs() - start) / 1e6;
  }
  const out: FwdBwd = { ms: totalMs / reps, loss, clip_fraction: clip };
  if (check) {
    out.logprob_sum = logprobSum!;
    out.grad_norm = torch.scope(() => Math.sqrt(params.reduce((sum, p) => sum + p.grad!.to('float64').pow(2).sum().item(), 0)));
  }
  if (!keepGrads) torch.zeroGrad(params);
  return out;
}
