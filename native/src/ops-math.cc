// Elementwise math, comparisons, reductions, matrix products and in-place updates.
// Binary ops come in two forms: tensor-tensor (`add`) and tensor-scalar (`addScalar`); the TS
// layer picks one, so no JS value is inspected twice.
#include "common.h"

namespace intuitor {

namespace {

at::OptionalIntArrayRef optDims(const c10::optional<std::vector<int64_t>>& dims) {
  if (!dims) return c10::nullopt;
  return at::IntArrayRef(*dims);
}

}  // namespace

#define UNARY(name, expr) def(env, exports, name, [](Args& a) { const at::Tensor& x = a.tensor(0); return expr; })
#define BINARY(name, fn)                                                                   \
  def(env, exports, name, [](Args& a) { return fn(a.tensor(0), a.tensor(1)); });           \
  def(env, exports, name "Scalar", [](Args& a) { return fn(a.tensor(0), a.scalar(1)); })

void registerMathOps(Napi::Env env, Napi::Object exports) {
  UNARY("neg", at::neg(x));
  UNARY("abs", at::abs(x));
  UNARY("exp", at::exp(x));
  UNARY("log", at::log(x));
  UNARY("log1p", at::log1p(x));
  UNARY("expm1", at::expm1(x));
  UNARY("sqrt", at::sqrt(x));
  UNARY("rsqrt", at::rsqrt(x));
  UNARY("square", at::square(x));
  UNARY("reciprocal", at::reciprocal(x));
  UNARY("sin", at::sin(x));
  UNARY("cos", at::cos(x));
  UNARY("tanh", at::tanh(x));
  UNARY("sigmoid", at::sigmoid(x));
  UNARY("relu", at::relu(x));
  UNARY("silu", at::silu(x));
  UNARY("softplus", at::softplus(x));
  UNARY("sign", at::sign(x));
  UNARY("floor", at::floor(x));
  UNARY("ceil", at::ceil(x));
  UNARY("round", at::round(x));
  UNARY("isnan", at::isnan(x));
  UNARY("isfinite", at::isfinite(x));
  UNARY("logicalNot", at::logical_not(x));
  // (x, approximate: "none" | "tanh")
  def(env, exports, "gelu", [](Args& a) { return at::gelu(a.tensor(0), a.string(1)); });

  // add/sub take alpha like torch.add: a + alpha * b
  def(env, exports, "add", [](Args& a) { return at::add(a.tensor(0), a.tensor(1), a.isAbsent(2) ? at::Scalar(1) : a.scalar(2)); });
  def(env, exports, "addScalar", [](Args& a) { return at::add(a.tensor(0), a.scalar(1), a.isAbsent(2) ? at::Scalar(1) : a.scalar(2)); });
  def(env, exports, "sub", [](Args& a) { return at::sub(a.tensor(0), a.tensor(1), a.isAbsent(2) ? at::Scalar(1) : a.scalar(2)); });
  def(env, exports, "subScalar", [](Args& a) { return at::sub(a.tensor(0), a.scalar(1), a.isAbsent(2) ? at::Scalar(1) : a.scalar(2)); });
  def(env, exports, "rsubScalar", [](Args& a) { return at::rsub(a.tensor(0), a.scalar(1)); });
  BINARY("mul", at::mul);
  BINARY("div", at::div);
  BINARY("pow", at::pow);
  BINARY("remainder", at::remainder);
  BINARY("floorDivide", at::floor_divide);
  BINARY("eq", at::eq);
  BINARY("ne", at::ne);
  BINARY("lt", at::lt);
  BINARY("le", at::le);
  BINARY("gt", at::gt);
  BINARY("ge", at::ge);
  def(env, exports, "maximum", [](Args& a) { return at::maximum(a.tensor(0), a.tensor(1)); });
  def(env, exports, "minimum", [](Args& a) { return at::minimum(a.tensor(0), a.tensor(1)); });
  def(env, exports, "logicalAnd", [](Args& a) { return at::logical_and(a.tensor(0), a.tensor(1)); });
  def(env, exports, "logicalOr", [](Args& a) { return at::logical_or(a.tensor(0), a.tensor(1)); });
  // (condition, x, y) with x and y tensors or scalars
  def(env, exports, "where", [](Args& a) { return at::where(a.tensor(0), a.tensor(1), a.tensor(2)); });
  def(env, exports, "whereScalar", [](Args& a) { return at::where(a.tensor(0), a.tensor(1), a.scalar(2)); });
  // (x, min?, max?)
  def(env, exports, "clamp", [](Args& a) { return at::clamp(a.tensor(0), a.optScalar(1), a.optScalar(2)); });
  // (x, mask, value)
  def(env, exports, "maskedFill", [](Args& a) { return at::masked_fill(a.tensor(0), a.tensor(1), a.scalar(2)); });
  def(env, exports, "maskedFillTensor", [](Args& a) { return at::masked_fill(a.tensor(0), a.tensor(1), a.tensor(2)); });

  // Reductions: (x, dims?, keepdim[, extra]). Absent dims reduce over everything.
  def(env, exports, "sum", [](Args& a) { return at::sum(a.tensor(0), optDims(a.optInts(1)), a.boolean(2), a.optDtype(3)); });
  def(env, exports, "mean", [](Args& a) { return at::mean(a.tensor(0), optDims(a.optInts(1)), a.boolean(2), a.optDtype(3)); });
  def(env, exports, "prod", [](Args& a) { return at::prod(a.tensor(0), a.i64(1), a.boolean(2)); });
  def(env, exports, "amax", [](Args& a) { return at::amax(a.tensor(0), a.optInts(1).value_or(std::vector<int64_t>{}), a.boolean(2)); });
  def(env, exports, "amin", [](Args& a) { return at::amin(a.tensor(0), a.optInts(1).value_or(std::vector<int64_t>{}), a.boolean(2)); });
  // (x, dim, keepdim) -> [values, indices]
  def(env, exports, "maxDim", [](Args& a) { return at::max(a.tensor(0), a.i64(1), a.boolean(2)); });
  def(env, exports, "minDim", [](Args& a) { return at::min(a.tensor(0), a.i64(1), a.boolean(2)); });
  def(env, exports, "argmax", [](Args& a) { return at::argmax(a.tensor(0), a.optI64(1), a.boolean(2)); });
  def(env, exports, "argmin", [](Args& a) { return at::argmin(a.tensor(0), a.optI64(1), a.boolean(2)); });
  def(env, exports, "logsumexp", [](Args& a) { return at::logsumexp(a.tensor(0), a.ints(1), a.boolean(2)); });
  // (x, dims?, correction, keepdim)
  def(env, exports, "var", [](Args& a) {
    return at::var(a.tensor(0), optDims(a.optInts(1)), c10::optional<int64_t>(a.i64(2)), a.boolean(3));
  });
  def(env, exports, "std", [](Args& a) {
    return at::std(a.tensor(0), optDims(a.optInts(1)), c10::optional<int64_t>(a.i64(2)), a.boolean(3));
  });
  // (x, ord, dims?, keepdim)
  def(env, exports, "norm", [](Args& a) {
    return at::linalg_vector_norm(a.tensor(0), a.scalar(1), optDims(a.optInts(2)), a.boolean(3), c10::nullopt);
  });
  def(env, exports, "all", [](Args& a) { return a.isAbsent(1) ? at::all(a.tensor(0)) : at::all(a.tensor(0), a.i64(1), a.boolean(2)); });
  def(env, exports, "any", [](Args& a) { return a.isAbsent(1) ? at::any(a.tensor(0)) : at::any(a.tensor(0), a.i64(1), a.boolean(2)); });
  def(env, exports, "cumsum", [](Args& a) { return at::cumsum(a.tensor(0), a.i64(1), a.optDtype(2)); });

  // Matrix products
  def(env, exports, "matmul", [](Args& a) { return at::matmul(a.tensor(0), a.tensor(1)); });
  def(env, exports, "mm", [](Args& a) { return at::mm(a.tensor(0), a.tensor(1)); });
  def(env, exports, "bmm", [](Args& a) { return at::bmm(a.tensor(0), a.tensor(1)); });

  // In-place updates: return nothing; the TS side returns the same Tensor object.
  def(env, exports, "add_", [](Args& a) { a.tensor(0).add_(a.tensor(1), a.isAbsent(2) ? at::Scalar(1) : a.scalar(2)); });
  def(env, exports, "addScalar_", [](Args& a) { a.tensor(0).add_(a.scalar(1), a.isAbsent(2) ? at::Scalar(1) : a.scalar(2)); });
  def(env, exports, "sub_", [](Args& a) { a.tensor(0).sub_(a.tensor(1), a.isAbsent(2) ? at::Scalar(1) : a.scalar(2)); });
  def(env, exports, "mul_", [](Args& a) { a.tensor(0).mul_(a.tensor(1)); });
  def(env, exports, "mulScalar_", [](Args& a) { a.tensor(0).mul_(a.scalar(1)); });
  def(env, exports, "div_", [](Args& a) { a.tensor(0).div_(a.tensor(1)); });
  def(env, exports, "divScalar_", [](Args& a) { a.tensor(0).div_(a.scalar(1)); });
  def(env, exports, "copy_", [](Args& a) { a.tensor(0).copy_(a.tensor(1)); });
  def(env, exports, "fill_", [](Args& a) { a.tensor(0).fill_(a.scalar(1)); });
  def(env, exports, "zero_", [](Args& a) { a.tensor(0).zero_(); });
  def(env, exports, "clamp_", [](Args& a) { a.tensor(0).clamp_(a.optScalar(1), a.optScalar(2)); });
  def(env, exports, "maskedFill_", [](Args& a) { a.tensor(0).masked_fill_(a.tensor(1), a.scalar(2)); });
  // (x, mean, std, generator?) and (x, low, high, generator?): in-place random initialisation
  def(env, exports, "normal_", [](Args& a) { a.tensor(0).normal_(a.f64(1), a.f64(2), a.optGenerator(3)); });
  def(env, exports, "uniform_", [](Args& a) { a.tensor(0).uniform_(a.f64(1), a.f64(2), a.optGenerator(3)); });
}

}  // namespace intuitor
