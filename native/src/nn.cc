// Neural-network building blocks: linear, embedding, softmaxes, RMSNorm, cross entropy and
// scaled-dot-product attention (fused where the linked libtorch has it, composed otherwise).
#include <torch/version.h>

#include <cmath>
#include <limits>

#include "common.h"

namespace intuitor {

namespace {

#if TORCH_VERSION_MAJOR >= 2 || (TORCH_VERSION_MAJOR == 1 && TORCH_VERSION_MINOR >= 13)
constexpr bool kHasFusedAttention = true;
#else
constexpr bool kHasFusedAttention = false;
#endif

// A boolean mask (true = may attend) becomes an additive float mask (0 or -inf) of the query's dtype,
// so the fused and composed paths share one mask convention on every libtorch version.
c10::optional<at::Tensor> additiveMask(const c10::optional<at::Tensor>& mask, const at::Tensor& query) {
  if (!mask) return c10::nullopt;
  if (mask->scalar_type() != at::kBool) return mask->to(query.scalar_type());
  return at::zeros(mask->sizes(), query.options()).masked_fill_(mask->logical_not(), -std::numeric_limits<double>::infinity());
}

// softmax(q k^T * scale + mask) v, the reference definition; q [.., Tq, D], k/v [.., Tk, D].
at::Tensor composedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const c10::optional<at::Tensor>& mask,
                             bool isCausal, double scale) {
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)).mul_(scale);  // [.., Tq, Tk]
  if (isCausal) {
    int64_t tq = q.size(-2), tk = k.size(-2);
    // Queries are the last tq positions of the tk keys (the KV-cache convention).
    auto future = at::ones({tq, tk}, q.options().dtype(at::kBool)).triu(tk - tq + 1);
    scores.masked_fill_(future, -std::numeric_limits<double>::infinity());
  }
  if (mask) scores = scores + *mask;
  return at::matmul(at::softmax(scores, -1), v);
}

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const c10::optional<at::Tensor>& boolOrFloatMask,
                     bool isCausal, c10::optional<double> scale, bool allowFused) {
  TORCH_CHECK(q.dim() >= 2 && k.dim() == q.dim() && v.dim() == q.dim(), "query, key and value must have the same rank >= 2, got ",
              q.sizes(), ", ", k.sizes(), ", ", v.sizes());
  TORCH_CHECK(q.size(-1) == k.size(-1), "query and key head sizes differ: ", q.sizes(), " vs ", k.sizes());
  TORCH_CHECK(!(isCausal && boolOrFloatMask), "pass either a mask or isCausal, not both (fold the causal part into the mask)");
  auto mask = additiveMask(boolOrFloatMask, q);
  double defaultScale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  double s = scale.value_or(defaultScale);
#if TORCH_VERSION_MAJOR >= 2
  if (allowFused && (TORCH_VERSION_MINOR >= 1 || s == defaultScale) && q.size(-2) == k.size(-2)) {
#if TORCH_VERSION_MINOR >= 1
    return at::scaled_dot_product_attention(q, k, v, mask, 0.0, isCausal, scale);
#else
    return at::scaled_dot_product_attention(q, k, v, mask, 0.0, isCausal);
#endif
  }
#else
  // 1.13's private kernel: default scale only, and causal only for square attention.
  if (allowFused && kHasFusedAttention && s == defaultScale && (!isCausal || q.size(-2) == k.size(-2))) {
    return std::get<0>(at::_scaled_dot_product_attention(q, k, v, mask, 0.0, false, isCausal));
  }
#endif
  return composedAttention(q, k, v, mask, isCausal, s);
}

}  // namespace

void registerNn(Napi::Env env, Napi::Object exports) {
  // (x [.., in], weight [out, in], bias? [out]) -> [.., out]
  def(env, exports, "linear", [](Args& a) { return at::linear(a.tensor(0), a.tensor(1), a.optTensor(2)); });
  // (weight [V, D], ids [..]) -> [.., D]
  def(env, exports, "embedding", [](Args& a) { return at::embedding(a.tensor(0), a.tensor(1)); });
  // (x, dim, dtype?)
  def(env, exports, "softmax", [](Args& a) { return at::softmax(a.tensor(0), a.i64(1), a.optDtype(2)); });
  def(env, exports, "logSoftmax", [](Args& a) { return at::log_softmax(a.tensor(0), a.i64(1), a.optDtype(2)); });
  // (x [.., D], weight [D], eps): Hugging Face's RMSNorm, computed in float32, returned in x's dtype.
  def(env, exports, "rmsNorm", [](Args& a) {
    const at::Tensor& x = a.tensor(0);
    at::Tensor x32 = x.to(at::kFloat);
    at::Tensor normed = x32 * at::rsqrt(x32.pow(2).mean(-1, true) + a.f64(2));
    return a.tensor(1) * normed.to(x.scalar_type());
  });
  // (logits [N, C], target [N] int64, ignoreIndex, reduction: 0 none | 1 mean | 2 sum)
  def(env, exports, "crossEntropy", [](Args& a) {
    int64_t reduction = a.i64(3);
    TORCH_CHECK(reduction >= 0 && reduction <= 2, "reduction must be 0 (none), 1 (mean) or 2 (sum), got ", reduction);
    return at::cross_entropy_loss(a.tensor(0), a.tensor(1), c10::nullopt, reduction, a.i64(2), 0.0);
  });
  // (q, k, v, mask?, isCausal, scale?, allowFused)
  def(env, exports, "scaledDotProductAttention", [](Args& a) {
    return attention(a.tensor(0), a.tensor(1), a.tensor(2), a.optTensor(3), a.boolean(4), a.optF64(5), a.boolean(6));
  });
  def(env, exports, "hasFusedAttention", [](Args&) { return kHasFusedAttention; });
}

}  // namespace intuitor
