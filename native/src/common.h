// Shared pieces of the addon: tensor handles, argument parsing, and `def`, which turns a C++
// lambda into a JS function whose every C++ exception becomes a JS Error.
//
// A tensor crosses into JS as a napi External holding a heap-allocated TensorBox. `dispose`
// releases the at::Tensor at once (deterministic memory: finalizers do not run inside a
// synchronous loop); the finaliser only frees the small box, or the tensor if JS never disposed
// it. Every External is type-tagged, so a forged or foreign object is rejected, never cast.
#pragma once

#include <napi.h>

#include <ATen/ATen.h>

#include <functional>
#include <string>
#include <tuple>
#include <vector>

namespace intuitor {

struct TensorBox {
  at::Tensor tensor;
  int64_t bytes = 0;  // bytes reported to V8 and to the live-memory counters
};

struct GeneratorBox {
  at::Generator generator;
};

// Live tensor handles: count and logical bytes (numel * element size; views count their elements).
struct MemoryCounters {
  int64_t liveTensors = 0;
  int64_t liveBytes = 0;
  int64_t peakBytes = 0;
};
MemoryCounters& memoryCounters();

Napi::Value wrapTensor(Napi::Env env, at::Tensor tensor);
Napi::Value wrapGenerator(Napi::Env env, at::Generator generator);
// Releases the tensor now; the handle stays valid as "disposed". Returns false if already disposed.
bool disposeTensor(Napi::Env env, Napi::Value handle);

// Positional arguments with checked conversions. Each error names the argument's position.
class Args {
 public:
  Args(const Napi::CallbackInfo& info) : info_(info) {}
  Napi::Env env() const { return info_.Env(); }
  size_t size() const { return info_.Length(); }
  bool isAbsent(size_t i) const { return i >= info_.Length() || info_[i].IsUndefined() || info_[i].IsNull(); }

  at::Tensor& tensor(size_t i) const;
  c10::optional<at::Tensor> optTensor(size_t i) const;
  std::vector<at::Tensor> tensors(size_t i) const;
  at::Generator& generator(size_t i) const;
  c10::optional<at::Generator> optGenerator(size_t i) const;
  int64_t i64(size_t i) const;
  c10::optional<int64_t> optI64(size_t i) const;
  double f64(size_t i) const;
  c10::optional<double> optF64(size_t i) const;
  bool boolean(size_t i) const;
  std::string string(size_t i) const;
  std::vector<int64_t> ints(size_t i) const;  // a JS array of integers (shapes, dims)
  c10::optional<std::vector<int64_t>> optInts(size_t i) const;
  at::Scalar scalar(size_t i) const;  // number, bigint or boolean
  c10::optional<at::Scalar> optScalar(size_t i) const;
  at::ScalarType dtype(size_t i) const;  // an at::ScalarType code chosen by the TS layer
  c10::optional<at::ScalarType> optDtype(size_t i) const;
  at::Device device(size_t i) const;  // "cpu", "cuda", "cuda:1"
  Napi::Value value(size_t i) const { return info_[i]; }

 private:
  [[noreturn]] void fail(size_t i, const char* expected) const;
  const Napi::CallbackInfo& info_;
};

// Conversions of results to JS.
inline Napi::Value toJs(Napi::Env env, const at::Tensor& t) { return wrapTensor(env, t); }
inline Napi::Value toJs(Napi::Env env, double v) { return Napi::Number::New(env, v); }
inline Napi::Value toJs(Napi::Env env, int64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }
inline Napi::Value toJs(Napi::Env env, bool v) { return Napi::Boolean::New(env, v); }
inline Napi::Value toJs(Napi::Env env, const std::string& v) { return Napi::String::New(env, v); }
inline Napi::Value toJs(Napi::Env env, Napi::Value v) { return v; }
Napi::Value toJs(Napi::Env env, const std::vector<at::Tensor>& list);
Napi::Value toJs(Napi::Env env, const std::vector<int64_t>& list);
template <typename A, typename B>
Napi::Value toJs(Napi::Env env, const std::tuple<A, B>& pair) {
  auto array = Napi::Array::New(env, 2);
  array.Set(0u, toJs(env, std::get<0>(pair)));
  array.Set(1u, toJs(env, std::get<1>(pair)));
  return array;
}

// Rethrows the current exception as a JS Error whose message starts with the op's name.
[[noreturn]] void rethrowAsJs(Napi::Env env, const char* name);

// Defines exports[name] = a JS function calling fn(Args). fn returns any type toJs accepts, or void.
template <typename Fn>
void def(Napi::Env env, Napi::Object exports, const char* name, Fn fn) {
  exports.Set(name, Napi::Function::New(
                        env,
                        [name, fn](const Napi::CallbackInfo& info) -> Napi::Value {
                          Napi::Env env = info.Env();
                          try {
                            Args args(info);
                            if constexpr (std::is_void_v<decltype(fn(args))>) {
                              fn(args);
                              return env.Undefined();
                            } else {
                              return toJs(env, fn(args));
                            }
                          } catch (...) {
                            rethrowAsJs(env, name);
                          }
                        },
                        name));
}

// Each translation unit registers its functions.
void registerCreation(Napi::Env env, Napi::Object exports);
void registerMathOps(Napi::Env env, Napi::Object exports);
void registerShapeOps(Napi::Env env, Napi::Object exports);
void registerNn(Napi::Env env, Napi::Object exports);
void registerAutograd(Napi::Env env, Napi::Object exports);
void registerRuntime(Napi::Env env, Napi::Object exports);
void registerCertainty(Napi::Env env, Napi::Object exports);
void registerLinearLogprob(Napi::Env env, Napi::Object exports);
void registerDistributed(Napi::Env env, Napi::Object exports);

}  // namespace intuitor
