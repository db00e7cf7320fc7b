// Engine settings and introspection: threads, BLAS, CUDA, memory counters, version.
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/version.h>

#include "common.h"

namespace intuitor {

namespace {

// OpenBLAS, when it is the BLAS in use, is found by symbol: there is no header to include and the
// library may be reached only through libblas.so.3.
template <typename Fn>
Fn openblasSymbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

std::string blasCore() {
  auto corename = openblasSymbol<char* (*)()>("openblas_get_corename");
  return corename ? std::string(corename()) : std::string();
}

std::string blasConfig() {
  auto config = openblasSymbol<char* (*)()>("openblas_get_config");
  return config ? std::string(config()) : std::string();
}

}  // namespace

void registerRuntime(Napi::Env env, Napi::Object exports) {
  def(env, exports, "getNumThreads", [](Args&) { return static_cast<int64_t>(at::get_num_threads()); });
  // One pool size for ATen's OpenMP threads and OpenBLAS's own pthreads: they never run at once
  // (ATen calls BLAS from its calling thread), so the same number does not oversubscribe.
  def(env, exports, "setNumThreads", [](Args& a) {
    int64_t n = a.i64(0);
    TORCH_CHECK(n >= 1, "the number of threads must be at least 1, got ", n);
    at::set_num_threads(static_cast<int>(n));
    if (auto setBlasThreads = openblasSymbol<void (*)(int)>("openblas_set_num_threads")) setBlasThreads(static_cast<int>(n));
  });

  def(env, exports, "runtimeInfo", [](Args& a) -> Napi::Value {
    auto info = Napi::Object::New(a.env());
    info.Set("torchVersion", TORCH_VERSION);
    info.Set("cuda", at::hasCUDA());
    info.Set("cudaDevices", static_cast<double>(at::hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0));
    info.Set("blasCore", blasCore());
    info.Set("blasConfig", blasConfig());
    info.Set("parallelInfo", at::get_parallel_info());
    info.Set("cxx11Abi", static_cast<double>(_GLIBCXX_USE_CXX11_ABI));
    return info;
  });

  def(env, exports, "memoryStats", [](Args& a) -> Napi::Value {
    auto& c = memoryCounters();
    auto stats = Napi::Object::New(a.env());
    stats.Set("liveTensors", static_cast<double>(c.liveTensors));
    stats.Set("liveBytes", static_cast<double>(c.liveBytes));
    stats.Set("peakBytes", static_cast<double>(c.peakBytes));
    // What V8 counts as external memory (ours included): it schedules garbage collection by it.
    int64_t v8External = 0;
    napi_adjust_external_memory(a.env(), 0, &v8External);
    stats.Set("v8ExternalBytes", static_cast<double>(v8External));
    return stats;
  });
  def(env, exports, "resetPeakBytes", [](Args&) { memoryCounters().peakBytes = memoryCounters().liveBytes; });

  def(env, exports, "cudaSynchronize", [](Args&) {
    TORCH_CHECK(at::hasCUDA(), "CUDA is not available in this build of libtorch or on this machine");
    at::detail::getCUDAHooks().deviceSynchronize(at::detail::getCUDAHooks().current_device());
  });
}

}  // namespace intuitor
