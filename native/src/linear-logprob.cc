// Fused, chunked LM head + log-softmax + gather, with its own backward: the log-probability of
// each target token without materialising the [N, V] logits (the GRPO loss's biggest tensor).
//
//   z = (hidden @ weight^T) / temperature   (matmul in the inputs' dtype, then float32;
//                                            float64 inputs stay float64, for gradient checks)
//   logprob = z[target] - logsumexp(z)                                             [N]
//
// Forward: per chunk of rows, compute z, keep only its logsumexp (lse [N]) and the target's
// log-prob. Backward, with g = dL/dlogprob [N], per chunk: recompute z, p = exp(z - lse), and
//   dL/dz = g / T * (onehot(target) - p)      [C, V], built in place in z's buffer
//   dL/dhidden[chunk] = dL/dz @ weight        dL/dweight += dL/dz^T @ hidden[chunk]
// (dL/dweight accumulated in float32, or float64, and cast to weight's dtype at the end). So the
// extra memory is O(chunk x V) in both directions, not a float32 [N, V] plus its log_softmax.
// The backward runs without grad mode: the function is differentiable once (no double backward).
//
// On request the forward also returns, detached, the per-row statistics that GRPO's rewards and
// metrics need, from the same chunk of logits (certainty.cc's reduction, so the same formulas):
// self-certainty on z_raw / certaintyTemperature, and the entropy of z_raw (temperature 1).
#include <torch/autograd.h>

#include <cmath>

#include "certainty.h"
#include "common.h"

namespace intuitor {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// float64 stays float64; float32, bfloat16 and float16 compute in float32.
at::ScalarType computeType(const at::Tensor& t) { return t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat; }

// Raw logits of rows [start, start + length): [C, V] in the compute dtype.
at::Tensor chunkLogits(const at::Tensor& hidden, const at::Tensor& weight, int64_t start, int64_t length) {
  return at::linear(hidden.narrow(0, start, length), weight).to(computeType(hidden));
}

// z [C, V] raw logits -> block [C, 2]: selfCertainty on z / certaintyTemperature, entropy of z.
void writeStatistics(const at::Tensor& z, double certaintyTemperature, at::Tensor block) {
  const double logVocab = std::log(static_cast<double>(z.size(1)));
  at::Tensor raw = at::empty({z.size(0), kStatisticsColumns}, z.options());
  chunkStatistics(z, at::Tensor(), true, raw);
  at::Tensor scored = raw;
  if (certaintyTemperature != 1.0) {
    scored = at::empty_like(raw);
    chunkStatistics(z / certaintyTemperature, at::Tensor(), false, scored);
  }
  block.select(1, 0).copy_(scored.select(1, 0) - scored.select(1, 1) - logVocab);
  block.select(1, 1).copy_(raw.select(1, 2));
}

struct LinearLogprob : public torch::autograd::Function<LinearLogprob> {
  // -> {logprob [N], statistics [N, 2] (detached; [0, 2] unless withStatistics)}
  static variable_list forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                               double temperature, int64_t chunkRows, bool withStatistics, double certaintyTemperature) {
    const int64_t rows = hidden.size(0);
    const auto options = hidden.options().dtype(computeType(hidden));
    at::Tensor logprob = at::empty({rows}, options);
    at::Tensor lse = at::empty({rows}, options);
    at::Tensor statistics = at::empty({withStatistics ? rows : 0, 2}, options);
    at::Tensor t = targets.unsqueeze(1);  // [N, 1]
    for (int64_t start = 0; start < rows; start += chunkRows) {
      const int64_t length = std::min(chunkRows, rows - start);
      at::Tensor z = chunkLogits(hidden, weight, start, length);  // [C, V]
      if (withStatistics) writeStatistics(z, certaintyTemperature, statistics.narrow(0, start, length));
      if (temperature != 1.0) z.div_(temperature);
      at::Tensor chunkLse = at::logsumexp(z, {1}, false);  // [C]
      lse.narrow(0, start, length).copy_(chunkLse);
      logprob.narrow(0, start, length).copy_(z.gather(1, t.narrow(0, start, length)).squeeze(1) - chunkLse);
    }
    ctx->save_for_backward({hidden, weight, targets, lse});
    ctx->saved_data["temperature"] = temperature;
    ctx->saved_data["chunkRows"] = chunkRows;
    ctx->mark_non_differentiable({statistics});
    ctx->set_materialize_grads(false);
    return {logprob, statistics};
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
    // One entry per forward argument: hidden, weight, targets, temperature, chunkRows, withStatistics, certaintyTemperature.
    variable_list grads(7);
    const at::Tensor& g = gradOutputs[0];  // [N]
    const bool needHidden = ctx->needs_input_grad(0), needWeight = ctx->needs_input_grad(1);
    if (!g.defined() || !(needHidden || needWeight)) return grads;
    c10::NoGradGuard noGrad;
    auto saved = ctx->get_saved_variables();
    const at::Tensor &hidden = saved[0], &weight = saved[1], &targets = saved[2], &lse = saved[3];
    const double temperature = ctx->saved_data["temperature"].toDouble();
    const int64_t chunkRows = ctx->saved_data["chunkRows"].toInt();
    const int64_t rows = hidden.size(0);
    const auto type = computeType(hidden);
    const bool sameType = weight.scalar_type() == type;
    at::Tensor scale = (g.to(type) / temperature).unsqueeze(1);  // [N, 1] = g / T
    at::Tensor t = targets.unsqueeze(1);
    at::Tensor gradHidden = needHidden ? at::empty(hidden.sizes(), hidden.options()) : at::Tensor();
    at::Tensor gradWeight = needWeight ? at::zeros(weight.sizes(), weight.options().dtype(type)) : at::Tensor();  // accumulator
    for (int64_t start = 0; start < rows; start += chunkRows) {
      const int64_t length = std::min(chunkRows, rows - start);
      at::Tensor z = chunkLogits(hidden, weight, start, length);  // [C, V]
      if (temperature != 1.0) z.div_(temperature);
      at::Tensor s = scale.narrow(0, start, length);
      // z becomes dL/dz = s * (onehot - p): p = exp(z - lse), times -s, plus s at the target.
      at::Tensor gradZ = z.sub_(lse.narrow(0, start, length).unsqueeze(1)).exp_().mul_(-s);
      gradZ.scatter_add_(1, t.narrow(0, start, length), s);
      at::Tensor gradZCast = sameType ? gradZ : gradZ.to(weight.scalar_type());
      at::Tensor h = hidden.narrow(0, start, length);
      if (needHidden) {
        at::Tensor out = gradHidden.narrow(0, start, length);
        at::mm_out(out, gradZCast, weight);
      }
      if (needWeight) {
        if (sameType) {
          gradWeight.addmm_(gradZ.t(), h);
        } else {
          gradWeight.add_(at::mm(gradZCast.t(), h));
        }
      }
    }
    grads[0] = gradHidden;
    grads[1] = needWeight && !sameType ? gradWeight.to(weight.scalar_type()) : gradWeight;
    return grads;
  }
};

void validate(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets, double temperature, int64_t chunkRows) {
  TORCH_CHECK(hidden.dim() == 2, "hidden must be 2-D [rows, d], got shape ", hidden.sizes());
  TORCH_CHECK(weight.dim() == 2, "the LM head weight must be 2-D [V, d], got shape ", weight.sizes());
  TORCH_CHECK(weight.size(1) == hidden.size(1), "the LM head weight ", weight.sizes(), " does not match hidden ", hidden.sizes(), ": expected [V, ",
              hidden.size(1), "]");
  TORCH_CHECK(weight.size(0) >= 1, "the LM head weight has no rows (V = 0)");
  const auto dtype = hidden.scalar_type();
  TORCH_CHECK(dtype == at::kFloat || dtype == at::kDouble || dtype == at::kBFloat16 || dtype == at::kHalf,
              "hidden must be float32, float64, bfloat16 or float16, got ", dtype);
  TORCH_CHECK(weight.scalar_type() == dtype, "hidden and the LM head weight must have the same dtype, got ", dtype, " and ", weight.scalar_type());
  TORCH_CHECK(targets.dim() == 1 && targets.size(0) == hidden.size(0), "targets must be [", hidden.size(0), "] (one per row of hidden), got shape ",
              targets.sizes());
  TORCH_CHECK(targets.scalar_type() == at::kLong, "targets must be int64, got ", targets.scalar_type());
  TORCH_CHECK(weight.device() == hidden.device() && targets.device() == hidden.device(), "hidden, weight and targets must be on one device, got ",
              hidden.device(), ", ", weight.device(), " and ", targets.device());
  TORCH_CHECK(temperature > 0 && std::isfinite(temperature), "temperature must be a positive number, got ", temperature);
  TORCH_CHECK(chunkRows >= 1, "chunkRows must be at least 1, got ", chunkRows);
  if (targets.numel() > 0) {
    // Checked here: out of range, gather is an error on the CPU but a device-side assert on CUDA.
    const int64_t low = targets.min().item<int64_t>(), high = targets.max().item<int64_t>();
    TORCH_CHECK(low >= 0 && high < weight.size(0), "targets must be token ids in [0, ", weight.size(0), "), got values from ", low, " to ", high);
  }
}

}  // namespace

void registerLinearLogprob(Napi::Env env, Napi::Object exports) {
  // (hidden [N, d], weight [V, d], targets [N], temperature, chunkRows, certaintyTemperature?)
  //   -> logprob [N]; with certaintyTemperature: [logprob [N], statistics [N, 2] (selfCertainty, entropy)]
  def(env, exports, "linearLogprob", [](Args& a) -> Napi::Value {
    const at::Tensor& hidden = a.tensor(0);
    const at::Tensor& weight = a.tensor(1);
    const at::Tensor& targets = a.tensor(2);
    const double temperature = a.f64(3);
    const int64_t chunkRows = a.i64(4);
    const auto certaintyTemperature = a.optF64(5);
    validate(hidden, weight, targets, temperature, chunkRows);
    if (certaintyTemperature) {
      TORCH_CHECK(*certaintyTemperature > 0 && std::isfinite(*certaintyTemperature), "certaintyTemperature must be a positive number, got ",
                  *certaintyTemperature);
    }
    variable_list out = LinearLogprob::apply(hidden, weight, targets.contiguous(), temperature, chunkRows, certaintyTemperature.has_value(),
                                             certaintyTemperature.value_or(1.0));
    if (!certaintyTemperature) return toJs(a.env(), out[0]);
    return toJs(a.env(), std::make_tuple(out[0], out[1]));
  });
}

}  // namespace intuitor
