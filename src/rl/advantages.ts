// Group-relative advantages (GRPO, Shao et al. 2024; Intuitor uses them unchanged): each prompt's
// G responses form a group, and a response's advantage is how much better its reward is than its
// group's: (r - mean_group) / (std_group + 1e-4), std with Bessel's correction as torch.std.
// A group whose rewards are all equal carries no signal: its advantages are 0. With several reward
// functions, each is normalised within its groups separately, then weighted and summed, so a
// reward on a large scale cannot drown the others.

export interface GroupNormalizeOptions {
  /** divide by the group's std (default true; false gives Dr. GRPO's plain centring) */
  scale?: boolean;
}

const STD_EPSILON = 1e-4;

/** rewards [groups x groupSize] flattened group-major -> advantages, same layout. */
export function groupAdvantages(rewards: readonly number[], groupSize: number, options: GroupNormalizeOptions = {}): number[] {
  if (!(Number.isInteger(groupSize) && groupSize >= 1)) throw new RangeError(`groupSize must be a positive integer, got ${groupSize}`);
  if (rewards.length % groupSize !== 0) throw new RangeError(`${rewards.length} rewards do not split into groups of ${groupSize}`);
  const bad = rewards.findIndex((r) => !Number.isFinite(r));
  if (bad !== -1) throw new RangeError(`reward ${bad} is ${rewards[bad]}: rewards must be finite numbers`);
  const scale = options.scale ?? true;
  const out = new Array<number>(rewards.length);
  for (let start = 0; start < rewards.length; start += groupSize) {
    const group = rewards.slice(start, start + groupSize);
    const mean = group.reduce((a, b) => a + b, 0) / groupSize;
    const variance = groupSize > 1 ? group.reduce((a, r) => a + (r - mean) ** 2, 0) / (groupSize - 1) : 0;
    const std = Math.sqrt(variance);
    group.forEach((r, k) => {
      const centred = r - mean;
      out[start + k] = std === 0 ? 0 : scale ? centred / (std + STD_EPSILON) : centred;
    });
  }
  return out;
}

/** Weighted sum of per-reward advantages, each normalised within its groups first. */
export function combinedAdvantages(rewardsByFunction: readonly (readonly number[])[], weights: readonly number[], groupSize: number, options: GroupNormalizeOptions = {}): number[] {
  if (rewardsByFunction.length === 0) throw new Error('combinedAdvantages: no rewards');
  if (weights.length !== rewardsByFunction.length) throw new Error(`${rewardsByFunction.length} reward functions but ${weights.length} weights`);
  const total = new Array<number>(rewardsByFunction[0]!.length).fill(0);
  rewardsByFunction.forEach((rewards, k) => {
    if (rewards.length !== total.length) throw new Error(`reward function ${k} gave ${rewards.length} rewards, expected ${total.length}`);
    groupAdvantages(rewards, groupSize, options).forEach((a, i) => (total[i]! += weights[k]! * a));
  });
  return total;
}
