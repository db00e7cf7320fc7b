// The GRPO / Intuitor training configuration: every field with its default, validated together by
// resolveGrpoConfig(), which also derives the values the trainer loop uses. Defaults follow the
// Intuitor paper (Zhao et al. 2025) and its public code: G = 7 responses per prompt, temperature
// 0.9, lr 3e-6 with cosine decay and 10% warmup, beta 0.005 (k3 KL), clip epsilon 0.2.
// Each field is also a command-line flag (src/cli/train.ts), defined once here.

import { checkFlagValues, type FlagSpecs, type FlagValues } from '../config/flags.ts';
import { INTUITOR_SYSTEM_PROMPT } from './prompt.ts';
import { checkDtypeDevice, deviceFlags } from '../config/device-flags.ts';

export const rewardNames = ['self-certainty', 'correctness', 'plurality', 'neg-entropy', 'format'] as const;
export type RewardName = (typeof rewardNames)[number];

export { computeDtypes, checkDtypeDevice, type ComputeDtype } from '../config/device-flags.ts';

export const grpoFlags = {
  model: { type: 'string', required: true, help: 'the starting policy: a model folder in Hugging Face layout' },
  data: { type: 'string', default: 'arith', help: "training prompts: a .jsonl/.parquet file, or 'arith' for the built-in task" },
  skipBadRows: { type: 'boolean', help: 'leave out dataset rows that cannot be used (bad JSON or UTF-8, missing or blank question, too long for the model) and count them, instead of stopping at the first' },
  output: { type: 'string', default: 'runs/intuitor', help: 'run folder: checkpoints, metrics, resolved config' },
  reward: { type: 'string', default: 'self-certainty', help: `comma-separated rewards: ${rewardNames.join(', ')}` },
  rewardWeights: { type: 'string', help: 'comma-separated weights, one per reward (default: all 1)' },
  offlineCertainty: { type: 'boolean', help: 'score self-certainty with the frozen initial model instead of the current policy (the paper\'s reward-hacking ablation)' },
  certaintyTemperature: { type: 'number', default: 1, min: 0, exclusiveMin: true, help: 'divides logits before self-certainty is computed' },
  steps: { type: 'int', default: 100, min: 1, help: 'optimizer steps' },
  promptsPerStep: { type: 'int', default: 4, min: 1, help: 'prompts per optimizer step' },
  numGenerations: { type: 'int', default: 7, min: 2, help: 'responses per prompt (G); the group that advantages are normalised over' },
  microBatchSize: { type: 'int', default: 8, min: 1, help: 'sequences per forward/backward pass (gradients accumulate over them)' },
  numIterations: { type: 'int', default: 1, min: 1, help: 'policy updates per generation batch (mu); > 1 uses the clipped ratio against the rollout policy' },
  temperature: { type: 'number', default: 0.9, min: 0, exclusiveMin: true, help: 'sampling temperature of rollouts (and of the log-probs in the loss)' },
  topP: { type: 'number', default: 1, min: 0, exclusiveMin: true, max: 1, help: 'nucleus sampling of rollouts' },
  maxCompletionLength: { type: 'int', default: 256, min: 1, help: 'the most tokens per response' },
  learningRate: { type: 'number', default: 3e-6, min: 0, exclusiveMin: true, help: 'peak learning rate (1e-6 for 7B+ in the paper)' },
  minLearningRate: { type: 'number', default: 0, min: 0, help: 'learning rate at the end of the cosine decay' },
  warmupRatio: { type: 'number', default: 0.1, min: 0, max: 1, help: 'share of the steps with linear warmup' },
  weightDecay: { type: 'number', default: 0, min: 0, help: 'AdamW decoupled weight decay' },
  adamBeta1: { type: 'number', default: 0.9, min: 0, max: 0.999999, help: 'AdamW beta1' },
  adamBeta2: { type: 'number', default: 0.999, min: 0, max: 0.999999, help: 'AdamW beta2' },
  adamEpsilon: { type: 'number', default: 1e-8, min: 0, exclusiveMin: true, help: 'AdamW epsilon' },
  maxGradNorm: { type: 'number', default: 1, min: 0, exclusiveMin: true, help: 'clip the global gradient norm to this' },
  beta: { type: 'number', default: 0.005, min: 0, help: 'KL coefficient (k3 estimator) to the frozen reference; 0 keeps no reference model' },
  epsilon: { type: 'number', default: 0.2, min: 0, exclusiveMin: true, help: 'clipping range of the probability ratio (lower side, and upper unless --epsilon-high)' },
  epsilonHigh: { type: 'number', min: 0, exclusiveMin: true, help: 'upper clipping range (DAPO\'s clip-higher); default: --epsilon' },
  lossType: { type: 'string', default: 'grpo', choices: ['grpo', 'bnpo', 'dr_grpo'], help: 'loss aggregation: per-sequence mean (grpo), token mean over the batch (bnpo), or sum / (B x max length) (dr_grpo)' },
  scaleRewards: { type: 'boolean', default: true, help: 'divide each group\'s advantages by its reward std' },
  maskTruncatedCompletions: { type: 'boolean', help: 'leave responses that hit the length limit out of the loss' },
  chat: { type: 'boolean', help: "format prompts with the model's chat template" },
  system: { type: 'string', default: INTUITOR_SYSTEM_PROMPT, help: "system prompt: a system message with --chat, else a first paragraph (default: the Intuitor paper's; '' for none)" },
  instruction: { type: 'string', default: '', help: 'appended to each question after a newline' },
  saveSteps: { type: 'int', default: 50, min: 1, help: 'checkpoint every this many steps (and at the end)' },
  saveTotalLimit: { type: 'int', min: 1, help: 'keep only the newest this many checkpoints (default: all); older ones are deleted once a newer one is complete' },
  logCompletions: { type: 'int', default: 2, min: 0, help: 'sampled completions written to the log per step' },
  seed: { type: 'int', default: 0, min: 0, help: 'seeds data order, sampling and initialisation' },
  gradientCheckpointing: { type: 'string', default: 'auto', choices: ['auto', 'on', 'off'], help: 'recompute each decoder layer in backward instead of keeping its activations: the same gradients for about one more forward, activations of one layer at a time; auto: on from 400M parameters' },
  dtype: { ...deviceFlags.dtype, help: 'compute dtype; bfloat16/float16 keep float32 master weights and AdamW state (float16: CUDA only, with dynamic loss scaling)' },
  device: { ...deviceFlags.device, help: "'cpu', 'cuda' or 'cuda:N'; with several processes on a machine, 'cuda' gives each its own GPU (cuda:LOCAL_RANK)" },
} as const satisfies FlagSpecs;

type GrpoFlagValues = FlagValues<typeof grpoFlags>;

export interface GrpoConfig extends GrpoFlagValues {
  /** derived: the rewards with their weights */
  rewards: { name: RewardName; weight: number }[];
  /** derived: epsilonHigh, or epsilon when unset */
  epsilonHigh: number;
  /** derived: sequences generated per step = promptsPerStep x numGenerations */
  sequencesPerStep: number;
  /** derived: forward/backward passes per policy update */
  gradientAccumulationSteps: number;
  /** derived: warmup steps = round(warmupRatio x steps) */
  warmupSteps: number;
}

/** A config (resolved, or as saved in a run's config.json) without its derived values: resolving it again gives the same config. */
export function grpoFlagValues(config: GrpoConfig): Record<string, unknown> {
  const { rewards: _rewards, sequencesPerStep: _sequences, gradientAccumulationSteps: _accumulation, warmupSteps: _warmup, ...fields } = config;
  return fields;
}

/** Validates the fields together and derives the rest; every error says how to fix it. */
export function resolveGrpoConfig(values: Record<string, unknown>): GrpoConfig {
  const v = checkFlagValues(grpoFlags, values);
  const names = v.reward.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !rewardNames.includes(n as RewardName));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(`--reward: unknown reward ${unknown.join(', ') || '(none given)'}; choose from ${rewardNames.join(', ')} (comma-separated for a weighted sum)`);
  }
  if (new Set(names).size !== names.length) throw new Error(`--reward lists a reward twice (${v.reward}); give each once and weight it with --reward-weights`);
  const weights = v.rewardWeights === undefined ? names.map(() => 1) : v.rewardWeights.split(',').map((s) => Number(s.trim()));
  if (weights.length !== names.length || weights.some((w) => !Number.isFinite(w))) {
    throw new Error(`--reward-weights needs ${names.length} number${names.length > 1 ? 's' : ''} (one per reward: ${names.join(', ')}), got "${v.rewardWeights}"`);
  }
  if (v.offlineCertainty && !names.includes('self-certainty')) throw new Error('--offline-certainty changes the self-certainty reward: add self-certainty to --reward');
  checkDtypeDevice(v.dtype, v.device);
  if (v.minLearningRate > v.learningRate) throw new Error(`--min-learning-rate (${v.minLearningRate}) must not exceed --learning-rate (${v.learningRate})`);
  // Micro-batches need not divide the step's sequences: the last one is smaller, and the loss is
  // weighted by each micro-batch's share, so the gradient is the same for any split.
  const sequencesPerStep = v.promptsPerStep * v.numGenerations;
  return {
    ...v,
    rewards: names.map((name, i) => ({ name: name as RewardName, weight: weights[i]! })),
    epsilonHigh: v.epsilonHigh ?? v.epsilon,
    sequencesPerStep,
    gradientAccumulationSteps: Math.ceil(sequencesPerStep / v.microBatchSize),
    warmupSteps: Math.round(v.warmupRatio * v.steps),
  };
}
