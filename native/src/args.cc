// Tensor handles, argument conversion and error translation (see common.h).
#include "common.h"

#include <algorithm>
#include <cmath>

namespace intuitor {

namespace {

// Random tags: a handle must carry ours to be unwrapped.
constexpr napi_type_tag kTensorTag = {0x6a1c3e5b9d2f4a71ULL, 0x8e0b57c4d1a93f26ULL};
constexpr napi_type_tag kGeneratorTag = {0x2f7d4c19a85e0b63ULL, 0xc6e1f0392b7a5d48ULL};

// Thrown for bad arguments: becomes a JS TypeError.
struct ArgumentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

MemoryCounters counters;

void releaseCounters(Napi::Env env, TensorBox* box) {
  if (!box->tensor.defined()) return;
  counters.liveTensors -= 1;
  counters.liveBytes -= box->bytes;
  int64_t adjusted = 0;
  napi_adjust_external_memory(env, -box->bytes, &adjusted);
  box->tensor.reset();
}

template <typename Box>
Box* unwrapTagged(Napi::Value value, const napi_type_tag& tag) {
  if (!value.IsExternal()) return nullptr;
  bool tagged = false;
  if (napi_check_object_type_tag(value.Env(), value, &tag, &tagged) != napi_ok || !tagged) return nullptr;
  return value.As<Napi::External<Box>>().Data();
}

}  // namespace

MemoryCounters& memoryCounters() { return counters; }

Napi::Value wrapTensor(Napi::Env env, at::Tensor tensor) {
  if (!tensor.defined()) return env.Null();
  auto* box = new TensorBox{std::move(tensor), 0};
  box->bytes = static_cast<int64_t>(box->tensor.numel()) * static_cast<int64_t>(box->tensor.element_size());
  counters.liveTensors += 1;
  counters.liveBytes += box->bytes;
  counters.peakBytes = std::max(counters.peakBytes, counters.liveBytes);
  int64_t adjusted = 0;
  napi_adjust_external_memory(env, box->bytes, &adjusted);
  auto external = Napi::External<TensorBox>::New(env, box, [](Napi::Env env, TensorBox* b) {
    releaseCounters(env, b);
    delete b;
  });
  napi_type_tag_object(env, external, &kTensorTag);
  return external;
}

Napi::Value wrapGenerator(Napi::Env env, at::Generator generator) {
  auto* box = new GeneratorBox{std::move(generator)};
  auto external = Napi::External<GeneratorBox>::New(env, box, [](Napi::Env, GeneratorBox* b) { delete b; });
  napi_type_tag_object(env, external, &kGeneratorTag);
  return external;
}

bool disposeTensor(Napi::Env env, Napi::Value handle) {
  auto* box = unwrapTagged<TensorBox>(handle, kTensorTag);
  if (box == nullptr) throw ArgumentError("expected a tensor handle");
  bool wasLive = box->tensor.defined();
  releaseCounters(env, box);
  return wasLive;
}

// ---------------------------------------------------------------------------------------------
// Args

void Args::fail(size_t i, const char* expected) const {
  throw ArgumentError("argument " + std::to_string(i) + ": expected " + expected);
}

at::Tensor& Args::tensor(size_t i) const {
  if (i >= size()) fail(i, "a tensor");
  auto* box = unwrapTagged<TensorBox>(info_[i], kTensorTag);
  if (box == nullptr) fail(i, "a tensor");
  if (!box->tensor.defined()) throw ArgumentError("argument " + std::to_string(i) + ": tensor was already disposed");
  return box->tensor;
}

c10::optional<at::Tensor> Args::optTensor(size_t i) const {
  if (isAbsent(i)) return c10::nullopt;
  return tensor(i);
}

std::vector<at::Tensor> Args::tensors(size_t i) const {
  if (i >= size() || !info_[i].IsArray()) fail(i, "an array of tensors");
  auto array = info_[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) {
    auto* box = unwrapTagged<TensorBox>(array.Get(k), kTensorTag);
    if (box == nullptr || !box->tensor.defined()) {
      throw ArgumentError("argument " + std::to_string(i) + "[" + std::to_string(k) + "]: expected a live tensor");
    }
    out.push_back(box->tensor);
  }
  return out;
}

at::Generator& Args::generator(size_t i) const {
  if (i >= size()) fail(i, "a generator");
  auto* box = unwrapTagged<GeneratorBox>(info_[i], kGeneratorTag);
  if (box == nullptr) fail(i, "a generator");
  return box->generator;
}

c10::optional<at::Generator> Args::optGenerator(size_t i) const {
  if (isAbsent(i)) return c10::nullopt;
  return generator(i);
}

int64_t Args::i64(size_t i) const {
  if (i >= size()) fail(i, "an integer");
  if (info_[i].IsBigInt()) {
    bool lossless = false;
    int64_t v = info_[i].As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) fail(i, "an integer within int64");
    return v;
  }
  if (!info_[i].IsNumber()) fail(i, "an integer");
  double v = info_[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v) || std::floor(v) != v || std::fabs(v) > 9007199254740991.0) fail(i, "an integer");
  return static_cast<int64_t>(v);
}

c10::optional<int64_t> Args::optI64(size_t i) const {
  if (isAbsent(i)) return c10::nullopt;
  return i64(i);
}

double Args::f64(size_t i) const {
  if (i >= size() || !info_[i].IsNumber()) fail(i, "a number");
  return info_[i].As<Napi::Number>().DoubleValue();
}

c10::optional<double> Args::optF64(size_t i) const {
  if (isAbsent(i)) return c10::nullopt;
  return f64(i);
}

bool Args::boolean(size_t i) const {
  if (i >= size() || !info_[i].IsBoolean()) fail(i, "a boolean");
  return info_[i].As<Napi::Boolean>().Value();
}

std::string Args::string(size_t i) const {
  if (i >= size() || !info_[i].IsString()) fail(i, "a string");
  return info_[i].As<Napi::String>().Utf8Value();
}

std::vector<int64_t> Args::ints(size_t i) const {
  if (i >= size() || !info_[i].IsArray()) fail(i, "an array of integers");
  auto array = info_[i].As<Napi::Array>();
  std::vector<int64_t> out(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) {
    Napi::Value v = array.Get(k);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
    if (!std::isfinite(d) || std::floor(d) != d) {
      throw ArgumentError("argument " + std::to_string(i) + "[" + std::to_string(k) + "]: expected an integer");
    }
    out[k] = static_cast<int64_t>(d);
  }
  return out;
}

c10::optional<std::vector<int64_t>> Args::optInts(size_t i) const {
  if (isAbsent(i)) return c10::nullopt;
  return ints(i);
}

at::Scalar Args::scalar(size_t i) const {
  if (i >= size()) fail(i, "a number");
  Napi::Value v = info_[i];
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    // Integral numbers stay integral so that integer tensors keep their dtype (x + 1 on int64).
    // (-0 stays a double: the integer 0 would lose its sign.)
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) <= 9007199254740991.0 && !(d == 0 && std::signbit(d))) {
      return at::Scalar(static_cast<int64_t>(d));
    }
    return at::Scalar(d);
  }
  if (v.IsBigInt()) return at::Scalar(i64(i));
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  fail(i, "a number, bigint or boolean");
}

c10::optional<at::Scalar> Args::optScalar(size_t i) const {
  if (isAbsent(i)) return c10::nullopt;
  return scalar(i);
}

at::ScalarType Args::dtype(size_t i) const {
  int64_t code = i64(i);
  if (code < 0 || code >= static_cast<int64_t>(at::ScalarType::NumOptions)) fail(i, "a dtype code");
  return static_cast<at::ScalarType>(code);
}

c10::optional<at::ScalarType> Args::optDtype(size_t i) const {
  if (isAbsent(i)) return c10::nullopt;
  return dtype(i);
}

at::Device Args::device(size_t i) const {
  at::Device device(string(i));  // throws c10::Error naming the string when it is not a device
  if (device.is_cuda() && !at::hasCUDA()) {
    throw std::runtime_error("device '" + device.str() +
                             "' requested, but CUDA is not available (this libtorch has no CUDA, or no GPU is visible): use 'cpu', "
                             "or build against a CUDA libtorch (see README)");
  }
  return device;
}

// ---------------------------------------------------------------------------------------------
// Results and errors

Napi::Value toJs(Napi::Env env, const std::vector<at::Tensor>& list) {
  auto array = Napi::Array::New(env, list.size());
  for (size_t k = 0; k < list.size(); ++k) array.Set(static_cast<uint32_t>(k), wrapTensor(env, list[k]));
  return array;
}

Napi::Value toJs(Napi::Env env, const std::vector<int64_t>& list) {
  auto array = Napi::Array::New(env, list.size());
  for (size_t k = 0; k < list.size(); ++k) array.Set(static_cast<uint32_t>(k), Napi::Number::New(env, static_cast<double>(list[k])));
  return array;
}

void rethrowAsJs(Napi::Env env, const char* name) {
  std::string prefix = std::string(name) + ": ";
  try {
    throw;
  } catch (const ArgumentError& e) {
    throw Napi::TypeError::New(env, prefix + e.what());
  } catch (const c10::Error& e) {
    // what_without_backtrace: the message ATen wrote (shapes, dtypes), without C++ frames.
    throw Napi::Error::New(env, prefix + e.what_without_backtrace());
  } catch (const Napi::Error&) {
    throw;  // a JS exception is already pending: creating another would fail
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, prefix + e.what());
  } catch (...) {
    throw Napi::Error::New(env, prefix + "unknown native error");
  }
}

}  // namespace intuitor
