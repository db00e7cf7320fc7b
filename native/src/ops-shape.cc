// Shape, view, indexing, sorting and conversion ops, and tensor metadata.
#include "common.h"

namespace intuitor {

void registerShapeOps(Napi::Env env, Napi::Object exports) {
  // Metadata: one call returns what the TS Tensor caches, so a new tensor costs one crossing.
  def(env, exports, "meta", [](Args& a) -> Napi::Value {
    const at::Tensor& t = a.tensor(0);
    auto out = Napi::Array::New(a.env(), 3);
    out.Set(0u, toJs(a.env(), t.sizes().vec()));
    out.Set(1u, Napi::Number::New(a.env(), static_cast<double>(t.scalar_type())));
    out.Set(2u, Napi::String::New(a.env(), t.device().str()));
    return out;
  });
  def(env, exports, "strides", [](Args& a) { return a.tensor(0).strides().vec(); });
  def(env, exports, "isContiguous", [](Args& a) { return a.tensor(0).is_contiguous(); });
  def(env, exports, "dispose", [](Args& a) { return disposeTensor(a.env(), a.value(0)); });

  def(env, exports, "view", [](Args& a) { return a.tensor(0).view(a.ints(1)); });
  def(env, exports, "reshape", [](Args& a) { return a.tensor(0).reshape(a.ints(1)); });
  def(env, exports, "permute", [](Args& a) { return a.tensor(0).permute(a.ints(1)); });
  def(env, exports, "transpose", [](Args& a) { return a.tensor(0).transpose(a.i64(1), a.i64(2)); });
  def(env, exports, "contiguous", [](Args& a) { return a.tensor(0).contiguous(); });
  def(env, exports, "squeeze", [](Args& a) { return a.isAbsent(1) ? a.tensor(0).squeeze() : a.tensor(0).squeeze(a.i64(1)); });
  def(env, exports, "unsqueeze", [](Args& a) { return a.tensor(0).unsqueeze(a.i64(1)); });
  def(env, exports, "expand", [](Args& a) { return a.tensor(0).expand(a.ints(1)); });
  def(env, exports, "repeat", [](Args& a) { return a.tensor(0).repeat(a.ints(1)); });
  def(env, exports, "flatten", [](Args& a) { return a.tensor(0).flatten(a.i64(1), a.i64(2)); });
  def(env, exports, "flip", [](Args& a) { return a.tensor(0).flip(a.ints(1)); });
  // (x, repeats, dim?)
  def(env, exports, "repeatInterleave", [](Args& a) { return at::repeat_interleave(a.tensor(0), a.i64(1), a.optI64(2)); });
  // (x, dim, start, length)
  def(env, exports, "narrow", [](Args& a) { return a.tensor(0).narrow(a.i64(1), a.i64(2), a.i64(3)); });
  // (x, dim, start?, end?, step)
  def(env, exports, "slice", [](Args& a) { return a.tensor(0).slice(a.i64(1), a.optI64(2), a.optI64(3), a.i64(4)); });
  // (x, dim, index): removes the dim
  def(env, exports, "select", [](Args& a) { return a.tensor(0).select(a.i64(1), a.i64(2)); });
  def(env, exports, "cat", [](Args& a) { return at::cat(a.tensors(0), a.i64(1)); });
  def(env, exports, "stack", [](Args& a) { return at::stack(a.tensors(0), a.i64(1)); });
  // (x, splitSize, dim) and (x, sizes[], dim)
  def(env, exports, "split", [](Args& a) { return at::split(a.tensor(0), a.i64(1), a.i64(2)); });
  def(env, exports, "splitSizes", [](Args& a) { return at::split_with_sizes(a.tensor(0), a.ints(1), a.i64(2)); });
  def(env, exports, "chunk", [](Args& a) { return at::chunk(a.tensor(0), a.i64(1), a.i64(2)); });
  def(env, exports, "unbind", [](Args& a) { return at::unbind(a.tensor(0), a.i64(1)); });
  def(env, exports, "triu", [](Args& a) { return at::triu(a.tensor(0), a.i64(1)); });
  def(env, exports, "tril", [](Args& a) { return at::tril(a.tensor(0), a.i64(1)); });

  // Indexing: (x, dim, index[, src])
  def(env, exports, "indexSelect", [](Args& a) { return at::index_select(a.tensor(0), a.i64(1), a.tensor(2)); });
  def(env, exports, "gather", [](Args& a) { return at::gather(a.tensor(0), a.i64(1), a.tensor(2)); });
  def(env, exports, "scatter", [](Args& a) { return at::scatter(a.tensor(0), a.i64(1), a.tensor(2), a.tensor(3)); });
  def(env, exports, "scatterScalar", [](Args& a) { return at::scatter(a.tensor(0), a.i64(1), a.tensor(2), a.scalar(3)); });
  def(env, exports, "scatterAdd", [](Args& a) { return at::scatter_add(a.tensor(0), a.i64(1), a.tensor(2), a.tensor(3)); });
  def(env, exports, "indexAdd", [](Args& a) { return at::index_add(a.tensor(0), a.i64(1), a.tensor(2), a.tensor(3)); });
  def(env, exports, "indexCopy_", [](Args& a) { a.tensor(0).index_copy_(a.i64(1), a.tensor(2), a.tensor(3)); });
  def(env, exports, "maskedSelect", [](Args& a) { return at::masked_select(a.tensor(0), a.tensor(1)); });
  def(env, exports, "nonzero", [](Args& a) { return at::nonzero(a.tensor(0)); });

  // Sorting and selection: (x, k, dim, largest, sorted) and (x, dim, descending) -> [values, indices]
  def(env, exports, "topk", [](Args& a) { return at::topk(a.tensor(0), a.i64(1), a.i64(2), a.boolean(3), a.boolean(4)); });
  def(env, exports, "sort", [](Args& a) { return at::sort(a.tensor(0), c10::optional<bool>(true), a.i64(1), a.boolean(2)); });
  def(env, exports, "argsort", [](Args& a) { return at::argsort(a.tensor(0), a.i64(1), a.boolean(2)); });
  // (probs, numSamples, replacement, generator?)
  def(env, exports, "multinomial", [](Args& a) { return at::multinomial(a.tensor(0), a.i64(1), a.boolean(2), a.optGenerator(3)); });

  // Conversion: (x, dtype) and (x, device); (x) clone/detach
  def(env, exports, "toDtype", [](Args& a) { return a.tensor(0).to(a.dtype(1)); });
  def(env, exports, "toDevice", [](Args& a) { return a.tensor(0).to(a.device(1)); });
  def(env, exports, "clone", [](Args& a) { return a.tensor(0).clone(); });
  def(env, exports, "detach", [](Args& a) { return a.tensor(0).detach(); });
}

}  // namespace intuitor
