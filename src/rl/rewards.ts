// Reward functions. Each receives every completion of a step with its text, token ids, per-token
// statistics and dataset label, and returns one number per completion. Self-certainty is a reward
// like any other: it reads the per-token KL(U || p) that the rollout measured.
//
//   self-certainty  mean_i KL(U || p_i) of the completion (Intuitor, Zhao et al. 2025)
//   correctness     1 if the extracted answer equals the label, else 0 (the GRPO baseline)
//   plurality       1 if the answer is its group's most common one, else 0 (GRPO-PV / TTRL)
//   neg-entropy     -mean_i H(p_i) (RENT)
//   format          1 if the completion has a final answer the extractor finds, else 0

import { extractAnswer, answersEquivalent, groupAnswers } from '../select/index.ts';
import type { RewardName } from './config.ts';

export interface RewardInput {
  completions: readonly string[];
  completionIds: readonly (readonly number[])[];
  /** per completion, per token: KL(U || p_i) under the scoring model */
  tokenSelfCertainty: readonly (readonly number[])[];
  /** per completion, per token: entropy of p_i */
  tokenEntropy: readonly (readonly number[])[];
  /** the dataset's reference answer per completion (undefined where there is none) */
  labels: readonly (string | undefined)[];
  /** completions per prompt; groups are consecutive */
  groupSize: number;
}

export type RewardFunction = (input: RewardInput) => number[];

const mean = (values: readonly number[]) => (values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length);

export const selfCertaintyReward: RewardFunction = (input) => input.tokenSelfCertainty.map(mean);

export const negEntropyReward: RewardFunction = (input) => input.tokenEntropy.map((h) => -mean(h));

export const correctnessReward: RewardFunction = (input) =>
  input.completions.map((text, i) => {
    const label = input.labels[i];
    if (label === undefined) throw new Error(`the correctness reward needs a label for every prompt; completion ${i} has none (use a dataset with reference answers, or another reward)`);
    const answer = extractAnswer(text);
    return answer !== undefined && answersEquivalent(answer, label) ? 1 : 0;
  });

export const formatReward: RewardFunction = (input) => input.completions.map((text) => (extractAnswer(text, { format: 'boxed' }) === undefined ? 0 : 1));

export const pluralityReward: RewardFunction = (input) => {
  const rewards = new Array<number>(input.completions.length).fill(0);
  for (let start = 0; start < input.completions.length; start += input.groupSize) {
    const answers = input.completions.slice(start, start + input.groupSize).map((t) => extractAnswer(t));
    const classes = groupAnswers(answers);
    const counts = new Map<number, number>();
    for (const c of classes) if (c >= 0) counts.set(c, (counts.get(c) ?? 0) + 1);
    if (counts.size === 0) continue;
    const top = Math.max(...counts.values());
    // Ties: every most-common answer is rewarded (no arbitrary winner).
    classes.forEach((c, k) => {
      if (c >= 0 && counts.get(c) === top) rewards[start + k] = 1;
    });
  }
  return rewards;
};

export const rewardFunctions: Record<RewardName, RewardFunction> = {
  'self-certainty': selfCertaintyReward,
  correctness: correctnessReward,
  plurality: pluralityReward,
  'neg-entropy': negEntropyReward,
  format: formatReward,
};
