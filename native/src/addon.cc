// The intuitor native addon: a thin N-API face over libtorch (ATen + autograd) and c10d.
// Only src/torch/ imports it; see common.h for the handle and error conventions.
#include "common.h"

namespace intuitor {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  registerCreation(env, exports);
  registerMathOps(env, exports);
  registerShapeOps(env, exports);
  registerNn(env, exports);
  registerAutograd(env, exports);
  registerRuntime(env, exports);
  registerCertainty(env, exports);
  registerLinearLogprob(env, exports);
  registerDistributed(env, exports);
  return exports;
}

}  // namespace intuitor

static Napi::Object initAddon(Napi::Env env, Napi::Object exports) { return intuitor::init(env, exports); }

NODE_API_MODULE(intuitor_native, initAddon)
