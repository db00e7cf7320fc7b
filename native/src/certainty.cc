// Fused per-token statistics of next-token distributions, the quantities self-certainty and the
// other confidence scores are built from (Kang et al. 2025; DESIGN section 1):
//
//   z = logits / temperature (float32)     lse = logsumexp(z)     mean = mean_j z_j
//   entropy = -sum_j p_j log p_j           gini = sum_j p_j^2     logprob = z_target - lse
//   (with all statistics, one exp(z - max) per chunk serves lse, entropy and gini)
//   selfCertainty = KL(U || p) = lse - mean - log V
//
// Rows are processed in chunks, each chunk's logits upcast to float32 (or computed from final
// hidden states through the LM head), reduced, and dropped: the extra memory is O(threads x chunk
// x V), never a whole [N, V] float32 copy, log_softmax or exp. Chunks of logits are spread over
// ATen's threads; inside a chunk ATen's kernels run serially on that thread, on data in cache.
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include <limits>

#include "certainty.h"
#include "common.h"

namespace intuitor {

void chunkStatistics(const at::Tensor& z, const at::Tensor& targets, bool all, at::Tensor block) {
  at::Tensor lse;
  if (all) {
    // One exp serves every statistic: e = exp(z - max), S = sum e, p = e / S.
    //   lse = max + log S;  entropy = log S + sum p (max - z) (two non-negative terms, no
    //   cancellation in float32);  sum p^2 = sum e^2 / S^2.
    at::Tensor max = std::get<0>(z.max(1, true));  // [C, 1]
    at::Tensor shifted = z - max;                  // [C, V], <= 0
    at::Tensor e = shifted.exp();
    at::Tensor sum = e.sum(1);  // [C]
    at::Tensor logSum = sum.log();
    lse = max.squeeze(1) + logSum;
    // (a -inf logit gives 0 * -inf: its term is 0)
    block.select(1, 2).copy_(logSum - (e * shifted).nan_to_num_(0.0).sum(1) / sum);
    block.select(1, 3).copy_(e.mul_(e).sum(1) / sum.square());
  } else {
    lse = at::logsumexp(z, {1}, false);  // [C]
  }
  block.select(1, 0).copy_(lse);
  block.select(1, 1).copy_(z.mean(1));
  if (targets.defined()) block.select(1, 4).copy_(z.gather(1, targets).squeeze(1) - lse);
}

namespace {

// (input [N, V] logits, or [N, d] hidden with weight [V, d]) -> [N, 5] float32
at::Tensor tokenStatistics(const at::Tensor& input, const c10::optional<at::Tensor>& weight, const c10::optional<at::Tensor>& targets,
                           double temperature, int64_t chunkRows, bool all) {
  TORCH_CHECK(input.dim() == 2, "expected 2-D input [rows, V] (or [rows, d] with an LM head), got shape ", input.sizes());
  TORCH_CHECK(temperature > 0, "temperature must be positive, got ", temperature);
  TORCH_CHECK(chunkRows >= 1, "chunkRows must be at least 1, got ", chunkRows);
  if (weight) {
    TORCH_CHECK(weight->dim() == 2 && weight->size(1) == input.size(1), "LM head weight ", weight->sizes(), " does not match hidden states ",
                input.sizes(), ": expected [V, ", input.size(1), "]");
  }
  const int64_t rows = input.size(0);
  if (targets) {
    TORCH_CHECK(targets->dim() == 1 && targets->size(0) == rows, "targets must be [", rows, "], got ", targets->sizes());
    TORCH_CHECK(targets->scalar_type() == at::kLong, "targets must be int64, got ", targets->scalar_type());
  }
  c10::NoGradGuard noGrad;
  at::Tensor out = at::full({rows, kStatisticsColumns}, std::numeric_limits<float>::quiet_NaN(), input.options().dtype(at::kFloat));
  at::Tensor x = input.contiguous();
  at::Tensor t = targets ? targets->contiguous().unsqueeze(1) : at::Tensor();
  const int64_t chunks = (rows + chunkRows - 1) / chunkRows;
  // Logits: one chunk per thread. Through the LM head (a BLAS call that threads itself) and on
  // CUDA (parallel on the device): one chunk at a time, each op parallel inside.
  const int64_t grain = input.is_cuda() || weight ? chunks : 1;
  at::parallel_for(0, chunks, grain, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const int64_t start = c * chunkRows;
      const int64_t length = std::min(chunkRows, rows - start);
      at::Tensor z = weight ? at::linear(x.narrow(0, start, length), *weight) : x.narrow(0, start, length);
      z = z.to(at::kFloat);
      if (temperature != 1.0) z = z / temperature;
      chunkStatistics(z, targets ? t.narrow(0, start, length) : at::Tensor(), all, out.narrow(0, start, length));
    }
  });
  return out;
}

}  // namespace

void registerCertainty(Napi::Env env, Napi::Object exports) {
  // (input, weight?, targets?, temperature, chunkRows, all) -> [N, 5] float32
  def(env, exports, "tokenStatistics", [](Args& a) {
    return tokenStatistics(a.tensor(0), a.optTensor(1), a.optTensor(2), a.f64(3), a.i64(4), a.boolean(5));
  });
}

}  // namespace intuitor
