// Tensor creation, bytes in/out, random generators and seeds.
#include <ATen/CPUGeneratorImpl.h>

#include <cstring>

#include "common.h"

namespace intuitor {

namespace {

at::TensorOptions options(const Args& a, size_t dtypeIndex) {
  return at::TensorOptions().dtype(a.dtype(dtypeIndex)).device(a.device(dtypeIndex + 1));
}

// The default generator of a device; CUDA generators exist only in a CUDA build with a GPU.
at::Generator defaultGenerator(const at::Device& device) {
  if (device.is_cpu()) return at::detail::getDefaultCPUGenerator();
  return at::globalContext().defaultGenerator(device);
}

}  // namespace

void registerCreation(Napi::Env env, Napi::Object exports) {
  // (shape, dtype, device)
  def(env, exports, "empty", [](Args& a) { return at::empty(a.ints(0), options(a, 1)); });
  def(env, exports, "zeros", [](Args& a) { return at::zeros(a.ints(0), options(a, 1)); });
  def(env, exports, "ones", [](Args& a) { return at::ones(a.ints(0), options(a, 1)); });
  // (shape, value, dtype, device)
  def(env, exports, "full", [](Args& a) { return at::full(a.ints(0), a.scalar(1), options(a, 2)); });
  // (start, end, step, dtype, device)
  def(env, exports, "arange", [](Args& a) { return at::arange(a.scalar(0), a.scalar(1), a.scalar(2), options(a, 3)); });
  // (shape, generator?, dtype, device)
  def(env, exports, "rand", [](Args& a) { return at::rand(a.ints(0), a.optGenerator(1), options(a, 2)); });
  def(env, exports, "randn", [](Args& a) { return at::randn(a.ints(0), a.optGenerator(1), options(a, 2)); });
  // (low, high, shape, generator?, dtype, device)
  def(env, exports, "randint", [](Args& a) {
    return at::randint(a.i64(0), a.i64(1), a.ints(2), a.optGenerator(3), options(a, 4));
  });
  // (n, generator?, dtype, device)
  def(env, exports, "randperm", [](Args& a) { return at::randperm(a.i64(0), a.optGenerator(1), options(a, 2)); });
  def(env, exports, "zerosLike", [](Args& a) { return at::zeros_like(a.tensor(0)); });
  def(env, exports, "onesLike", [](Args& a) { return at::ones_like(a.tensor(0)); });
  def(env, exports, "fullLike", [](Args& a) { return at::full_like(a.tensor(0), a.scalar(1)); });
  def(env, exports, "emptyLike", [](Args& a) { return at::empty_like(a.tensor(0)); });

  // (bytes: TypedArray | Buffer, shape, dtype, device): a copy of the bytes, native byte order.
  def(env, exports, "fromBytes", [](Args& a) {
    if (!a.value(0).IsTypedArray()) throw std::invalid_argument("argument 0: expected a typed array or Buffer");
    auto view = a.value(0).As<Napi::TypedArray>();
    auto* data = static_cast<uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
    size_t byteLength = view.ByteLength();
    at::Tensor out = at::empty(a.ints(1), at::TensorOptions().dtype(a.dtype(2)));
    size_t expected = static_cast<size_t>(out.numel()) * out.element_size();
    if (expected != byteLength) {
      throw std::invalid_argument("got " + std::to_string(byteLength) + " bytes but shape " + c10::str(out.sizes()) + " of " +
                                  std::string(c10::toString(out.scalar_type())) + " needs " + std::to_string(expected));
    }
    if (byteLength > 0) std::memcpy(out.data_ptr(), data, byteLength);
    at::Device device = a.device(3);
    return device.is_cpu() ? out : out.to(device);
  });

  // (tensor) -> ArrayBuffer with a contiguous CPU copy of the elements.
  def(env, exports, "toBytes", [](Args& a) -> Napi::Value {
    at::Tensor t = a.tensor(0).detach().to(at::kCPU).contiguous();
    size_t n = static_cast<size_t>(t.numel()) * t.element_size();
    auto buffer = Napi::ArrayBuffer::New(a.env(), n);
    if (n > 0) std::memcpy(buffer.Data(), t.data_ptr(), n);
    return buffer;
  });

  // (tensor) -> number: the single element, as a double.
  def(env, exports, "item", [](Args& a) {
    const at::Tensor& t = a.tensor(0);
    if (t.numel() != 1) throw std::invalid_argument("item() needs a tensor with one element, got shape " + c10::str(t.sizes()));
    return t.item().toDouble();
  });

  // Generators: explicit, per-call random streams (sampling, data order) with savable state.
  def(env, exports, "generatorNew", [](Args& a) -> Napi::Value {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(a.i64(0)));
    return wrapGenerator(a.env(), generator);
  });
  def(env, exports, "generatorDefault", [](Args& a) -> Napi::Value { return wrapGenerator(a.env(), defaultGenerator(a.device(0))); });
  def(env, exports, "generatorSeed", [](Args& a) {
    auto& g = a.generator(0);
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_current_seed(static_cast<uint64_t>(a.i64(1)));
  });
  def(env, exports, "generatorGetState", [](Args& a) {
    auto& g = a.generator(0);
    std::lock_guard<std::mutex> lock(g.mutex());
    return g.get_state();
  });
  def(env, exports, "generatorSetState", [](Args& a) {
    auto& g = a.generator(0);
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_state(a.tensor(1));
  });
  // Seeds the default generator of the CPU and of every visible CUDA device.
  def(env, exports, "manualSeed", [](Args& a) {
    auto seed = static_cast<uint64_t>(a.i64(0));
    {
      auto g = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(g.mutex());
      g.set_current_seed(seed);
    }
    if (at::hasCUDA()) {
      for (int64_t i = 0; i < static_cast<int64_t>(at::detail::getCUDAHooks().getNumGPUs()); ++i) {
        auto g = at::globalContext().defaultGenerator(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(i)));
        std::lock_guard<std::mutex> lock(g.mutex());
        g.set_current_seed(seed);
      }
    }
  });
}

}  // namespace intuitor
