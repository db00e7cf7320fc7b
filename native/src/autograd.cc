// Autograd (grad mode, backward, .grad), gradient clipping and the AdamW update.
//
// AdamW follows torch.optim.AdamW (decoupled weight decay, bias-corrected moments; no amsgrad,
// no maximize) step for step, so a run here and a run in PyTorch agree to rounding.
#include <c10/core/GradMode.h>

#include <cmath>

#include "common.h"

namespace intuitor {

void registerAutograd(Napi::Env env, Napi::Object exports) {
  def(env, exports, "isGradEnabled", [](Args&) { return c10::GradMode::is_enabled(); });
  def(env, exports, "setGradEnabled", [](Args& a) { c10::GradMode::set_enabled(a.boolean(0)); });

  def(env, exports, "requiresGrad", [](Args& a) { return a.tensor(0).requires_grad(); });
  def(env, exports, "setRequiresGrad", [](Args& a) { a.tensor(0).set_requires_grad(a.boolean(1)); });
  def(env, exports, "isLeaf", [](Args& a) { return a.tensor(0).is_leaf(); });
  def(env, exports, "retainGrad", [](Args& a) { a.tensor(0).retain_grad(); });
  // (x) -> the accumulated gradient, or null when there is none
  def(env, exports, "grad", [](Args& a) { return a.tensor(0).grad(); });
  def(env, exports, "setGrad", [](Args& a) {
    if (a.isAbsent(1)) {
      a.tensor(0).mutable_grad().reset();
    } else {
      a.tensor(0).mutable_grad() = a.tensor(1);
    }
  });
  // (loss, gradient?, retainGraph)
  def(env, exports, "backward", [](Args& a) {
    const at::Tensor& loss = a.tensor(0);
    auto gradient = a.optTensor(1);
    TORCH_CHECK(gradient || loss.numel() == 1, "backward() without a gradient needs a scalar, got shape ", loss.sizes(),
                ": pass a gradient of the same shape, or reduce first (sum or mean)");
    TORCH_CHECK(loss.requires_grad(), "backward() on a tensor that does not require grad: no parameter it depends on has requiresGrad, or it was computed under noGrad");
    // PyTorch checks this in Python (_make_grads); the C++ engine would silently reduce a mismatch.
    TORCH_CHECK(!gradient || gradient->sizes() == loss.sizes(), "the gradient has shape ", gradient ? gradient->sizes() : at::IntArrayRef{},
                " but the tensor has shape ", loss.sizes(), ": they must be equal");
    loss.backward(gradient.value_or(at::Tensor()), a.boolean(2));
  });

  // (params[], maxNorm, normType, errorIfNonfinite) -> total norm before clipping (as torch.nn.utils.clip_grad_norm_)
  def(env, exports, "clipGradNorm", [](Args& a) {
    c10::NoGradGuard noGrad;
    std::vector<at::Tensor> grads;
    for (auto& p : a.tensors(0)) {
      if (p.grad().defined()) grads.push_back(p.grad());
    }
    if (grads.empty()) return 0.0;
    double maxNorm = a.f64(1);
    double normType = a.f64(2);
    // Each norm in its gradient's dtype (as PyTorch), combined in float64 so mixed dtypes can meet.
    std::vector<at::Tensor> norms;
    norms.reserve(grads.size());
    for (auto& g : grads) norms.push_back(at::linalg_vector_norm(g, normType).to(at::kDouble));
    at::Tensor total = at::linalg_vector_norm(at::stack(norms), normType);
    double totalNorm = total.item<double>();
    if (!std::isfinite(totalNorm) && a.boolean(3)) {
      TORCH_CHECK(false, "the total norm of the gradients is ", totalNorm, ": a NaN or Inf reached the gradients");
    }
    at::Tensor coefficient = at::clamp_max(maxNorm / (total + 1e-6), 1.0);
    for (auto& g : grads) g.mul_(coefficient.to(g.scalar_type()));
    return totalNorm;
  });

  // (param, expAvg, expAvgSq, step (already incremented), lr, beta1, beta2, eps, weightDecay)
  // Skips a parameter without a gradient, as PyTorch does. Returns whether it updated.
  def(env, exports, "adamwStep", [](Args& a) {
    c10::NoGradGuard noGrad;
    at::Tensor& param = a.tensor(0);
    at::Tensor grad = param.grad();
    if (!grad.defined()) return false;
    at::Tensor& expAvg = a.tensor(1);
    at::Tensor& expAvgSq = a.tensor(2);
    double step = a.f64(3), lr = a.f64(4), beta1 = a.f64(5), beta2 = a.f64(6), eps = a.f64(7), weightDecay = a.f64(8);
    TORCH_CHECK(expAvg.sizes() == param.sizes() && expAvgSq.sizes() == param.sizes(), "optimizer state shape ", expAvg.sizes(),
                " does not match the parameter's ", param.sizes());
    param.mul_(1.0 - lr * weightDecay);
    expAvg.mul_(beta1).add_(grad, 1.0 - beta1);
    expAvgSq.mul_(beta2).addcmul_(grad, grad, 1.0 - beta2);
    double biasCorrection1 = 1.0 - std::pow(beta1, step);
    double biasCorrection2Sqrt = std::sqrt(1.0 - std::pow(beta2, step));
    at::Tensor denom = (expAvgSq.sqrt() / biasCorrection2Sqrt).add_(eps);
    param.addcdiv_(expAvg, denom, -lr / biasCorrection1);
    return true;
  });
}

}  // namespace intuitor
