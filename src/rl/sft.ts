// Supervised fine-tuning on (prompt, completion) pairs: the loss is the cross entropy of the
// completion tokens only, a mean over the batch's completion tokens; prompt tokens and padding
// carry no loss. Used to make a starting policy that Intuitor/GRPO can then improve.
//
// Each step: the next batchSize examples of a seeded per-epoch shuffle, packed left-padded with the
// completions right-aligned (model/pack.ts), one forward/backward, gradient-norm clipping, AdamW
// with a cosine learning-rate schedule after linear warmup. A bfloat16/float16 model computes in
// its dtype while AdamW holds float32 master weights and state (rl/precision.ts), as in training.

import * as torch from '../torch/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { packPromptCompletions, type PackedBatch, type PromptCompletion } from '../model/pack.ts';
import { SeededRandom } from '../data/seeded-random.ts';
import { trainingOptimizer } from './precision.ts';

export interface SftOptions {
  steps: number;
  batchSize: number;
  learningRate: number;
  warmupSteps: number;
  minLearningRate?: number;
  weightDecay?: number;
  maxGradNorm?: number;
  seed?: number;
  padId: number;
  /** the folder the model was loaded from: a bfloat16/float16 model's float32 master weights start from its weights */
  weightsDir?: string;
  /** called after every step, e.g. for progress */
  onStep?: (metrics: SftStepMetrics) => void;
}

export interface SftStepMetrics {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
}

/** Mean cross entropy of the completion tokens of a packed batch (a scalar that carries gradient). */
export function completionLoss(model: CausalLM, batch: PackedBatch): torch.Tensor {
  const { length, completionWidth: width } = batch;
  return torch.scope(() => {
    const ids = torch.tensor(batch.inputIds, { dtype: 'int64', device: model.device }); // [B, L]
    const attentionMask = torch.tensor(batch.attentionMask, { dtype: 'int64', device: model.device });
    const hidden = model.forward(ids, { attentionMask, output: 'hidden' }).narrow(1, length - width - 1, width); // [B, R, d] predict the last R columns
    const logits = torch.linear(hidden, model.lmHeadWeight).float(); // [B, R, V]
    const targets = batch.inputIds.map((row, b) => row.slice(length - width).map((id, t) => (batch.completionMask[b]![t] ? id : -100))); // [B][R], -100: no loss
    const target = torch.tensor(targets, { dtype: 'int64', device: model.device }).reshape(-1);
    return torch.crossEntropy(logits.reshape(-1, logits.size(-1)), target, { ignoreIndex: -100 });
  });
}

/** Trains `model` in place; returns each step's metrics. Yields to the event loop once per step. */
export async function sft(model: CausalLM, examples: readonly PromptCompletion[], options: SftOptions): Promise<SftStepMetrics[]> {
  if (examples.length === 0) throw new Error('sft: no examples');
  const params = model.parameters();
  for (const p of params) p.requiresGrad_(true);
  const optimizer = trainingOptimizer(model, options.weightsDir, { lr: options.learningRate, weightDecay: options.weightDecay ?? 0 });
  const rng = new SeededRandom(options.seed ?? 0);
  let order: number[] = [];
  const history: SftStepMetrics[] = [];
  try {
    for (let step = 0; step < options.steps; step++) {
      const lr = torch.cosineWithWarmup(step, { peakLr: options.learningRate, totalSteps: options.steps, warmupSteps: options.warmupSteps, minLr: options.minLearningRate ?? 0 });
      optimizer.lr = lr;
      const batch: PromptCompletion[] = [];
      while (batch.length < options.batchSize) {
        if (order.length === 0) order = rng.shuffle(examples.map((_, i) => i)); // a new epoch
        batch.push(examples[order.pop()!]!);
      }
      const packed = packPromptCompletions(batch, options.padId);
      const loss = torch.scope(() => {
        const value = completionLoss(model, packed);
        optimizer.backward(value);
        return value.item();
      });
      const gradNorm = optimizer.clipGradNorm(options.maxGradNorm ?? 1);
      optimizer.step(); // float16: skipped when a gradient is Inf/NaN
      optimizer.zeroGrad();
      const metrics = { step: step + 1, loss, lr, gradNorm, tokens: batch.reduce((n, e) => n + e.completion.length, 0) };
      history.push(metrics);
      options.onStep?.(metrics);
      await new Promise(setImmediate);
    }
    return history;
  } finally {
    optimizer.dispose();
    for (const p of params) p.requiresGrad_(false);
  }
}
