// Bootstrap confidence intervals over problems (Efron & Tibshirani 1993, the percentile interval).
// The unit of resampling is the problem, not the response: a problem's N responses share its
// difficulty, so resampling responses would understate the uncertainty. Each resample draws P
// problems with replacement (seeded); a statistic sees it as a count per problem (how many times
// each problem was drawn), so statistics that are means over problems, paired differences (both
// rules on the same resampled problems) and pooled AUROCs all read the same resample. The interval
// is the (1 - level)/2 and (1 + level)/2 quantiles of the statistic over resamples (linear
// interpolation between order statistics, R's type 7); resamples where a statistic is undefined
// (NaN: e.g. no problem with both correct and incorrect responses was drawn) are left out.

import { SeededRandom } from '../data/seeded-random.ts';

/** A statistic of a resample: `counts[p]` is how many times problem p was drawn (all 1 for the data itself). */
export type ResampleStatistic = (counts: Float64Array) => number;

export interface Interval {
  /** the statistic on the data itself */
  value: number;
  low: number;
  high: number;
}

export interface BootstrapOptions {
  /** resamples (default 1000) */
  resamples?: number;
  /** coverage of the interval (default 0.95) */
  level?: number;
  seed?: number;
}

/** Point estimate and percentile interval of each statistic, all over the same resamples of `problems` problems. */
export function bootstrapIntervals(problems: number, statistics: readonly ResampleStatistic[], options: BootstrapOptions = {}): Interval[] {
  const resamples = options.resamples ?? 1000;
  const level = options.level ?? 0.95;
  if (!(Number.isInteger(problems) && problems >= 1)) throw new RangeError(`bootstrap: needs at least one problem, got ${problems}`);
  if (!(Number.isInteger(resamples) && resamples >= 1)) throw new RangeError(`bootstrap: resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrap: level must lie strictly between 0 and 1, got ${level}`);
  const values = statistics.map(() => new Float64Array(resamples));
  const random = new SeededRandom(options.seed ?? 0);
  const counts = new Float64Array(problems);
  for (let b = 0; b < resamples; b++) {
    counts.fill(0);
    for (let k = 0; k < problems; k++) counts[Math.floor(random.next() * problems)]! += 1;
    statistics.forEach((statistic, s) => (values[s]![b] = statistic(counts)));
  }
  const all = new Float64Array(problems).fill(1);
  return statistics.map((statistic, s) => {
    const [low, high] = percentileInterval(values[s]!, level);
    return { value: statistic(all), low, high };
  });
}

/** The central `level` percentile interval of `values` (NaN left out; [NaN, NaN] when none is left). */
export function percentileInterval(values: ArrayLike<number>, level: number): [number, number] {
  const sorted = Float64Array.from(values).filter((v) => !Number.isNaN(v)).sort();
  if (sorted.length === 0) return [NaN, NaN];
  return [quantile(sorted, (1 - level) / 2), quantile(sorted, (1 + level) / 2)];
}

/** Type-7 quantile of ascending `sorted`. */
function quantile(sorted: Float64Array, q: number): number {
  const h = (sorted.length - 1) * q;
  const below = Math.floor(h);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below]! + (h - below) * (sorted[above]! - sorted[below]!);
}

/** sum_p counts[p] x values[p] / sum_p counts[p], over the problems where `values` is defined (NaN otherwise). */
export function weightedMean(values: ArrayLike<number>, counts: Float64Array): number {
  let sum = 0;
  let weight = 0;
  for (let p = 0; p < counts.length; p++) {
    const v = values[p]!;
    if (counts[p] === 0 || Number.isNaN(v)) continue;
    sum += counts[p]! * v;
    weight += counts[p]!;
  }
  return weight === 0 ? NaN : sum / weight;
}
