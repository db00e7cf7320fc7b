// The per-chunk reduction of certainty.cc, shared with the fused LM-head log-prob
// (linear-logprob.cc) so that both compute the statistics with the same formulas.
#pragma once

#include <ATen/ATen.h>

namespace intuitor {

constexpr int64_t kStatisticsColumns = 5;  // logsumexp, mean, entropy, gini, target logprob

// z [C, V] logits already divided by the temperature (float32, or float64), targets [C, 1] int64
// or undefined -> block [C, 5] (columns as kStatisticsColumns; entropy and gini only when `all`,
// the target logprob only with targets; other columns are left as they are).
void chunkStatistics(const at::Tensor& z, const at::Tensor& targets, bool all, at::Tensor block);

}  // namespace intuitor
