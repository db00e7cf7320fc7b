// Distributed collectives over PyTorch's c10d, as JS functions: a process group (Gloo on CPU;
// NCCL when built with -DINTUITOR_WITH_NCCL=1 against a CUDA libtorch) held in a type-tagged
// External, and allReduce / broadcast / allGather / barrier on it. Set-up is in distributed-init.cc.
//
// `withGroup` calls the same methods on ProcessGroupGloo or ProcessGroupNCCL through a generic
// lambda (no common base class across libtorch 1.13 and 2.x, see distributed.h). Every collective
// is synchronous and waits at most the group's timeout; every failure becomes an Error that says
// what failed in user terms (a dead peer, a timeout), never an abort. Without c10d/Gloo headers
// this file compiles to a stub whose functions say so.
#include "common.h"
#include "distributed.h"

#include <map>
#include <memory>

namespace intuitor {

#if INTUITOR_WITH_GLOO

using namespace dist;

namespace {

#if INTUITOR_WITH_NCCL
constexpr bool kWithNccl = true;
#else
constexpr bool kWithNccl = false;
#endif
constexpr napi_type_tag kGroupTag = {0x91d4b0e27c3f5a86ULL, 0x4be8a13d06c97f52ULL};

GroupBox& group(Args& a, size_t i) {
  Napi::Value v = i < a.size() ? a.value(i) : a.env().Undefined();
  bool tagged = false;
  if (!v.IsExternal() || napi_check_object_type_tag(a.env(), v, &kGroupTag, &tagged) != napi_ok || !tagged) {
    throw std::invalid_argument("argument " + std::to_string(i) + ": expected a process group");
  }
  return *v.As<Napi::External<GroupBox>>().Data();
}

// Runs fn(pg) on whichever backend the group holds; throws if it was destroyed.
template <typename Fn>
decltype(auto) withGroup(GroupBox& g, Fn&& fn) {
  if (g.gloo) return fn(*g.gloo);
#if INTUITOR_WITH_NCCL
  if (g.nccl) return fn(*g.nccl);
#endif
  throw std::runtime_error("this process group was destroyed: create a new one with initProcessGroup");
}

// Rethrows the exception in flight as "<what> failed on rank r: <reason in user terms>; <raw message>".
[[noreturn]] void rethrowCollective(const GroupBox& g, const std::string& what) {
  std::string raw = currentMessage();
  std::string reason;
  if (mentions(raw, {"closed by peer", "Connection reset", "Broken pipe", "ECONNRESET", "EPIPE", "Connection refused", "Socket closed"})) {
    reason = "a peer closed its connection (rank died?); ";
  } else if (mentions(raw, {"imed out", "imeout", "timed-out"})) {
    reason = "no answer from the other ranks within " + seconds(g.timeout) + " (a rank died, hangs, or is not calling the same collective); ";
  }
  throw std::runtime_error(what + " failed on rank " + std::to_string(g.rank) + ": " + reason + raw);
}

template <typename Work>
void waitFor(const GroupBox& g, const Work& work) {
  work->wait(g.timeout);  // throws on a peer's failure, on a timeout, or with gloo's own error
}

Napi::Value wrapGroup(Napi::Env env, GroupBox* box) {
  auto external = Napi::External<GroupBox>::New(env, box, [](Napi::Env, GroupBox* b) { delete b; });
  napi_type_tag_object(env, external, &kGroupTag);
  return external;
}

// ---- buckets ----------------------------------------------------------------------------------

// Tensors of one dtype and device, reduced as one flat tensor. A bucket of one tensor is that
// tensor's own storage (no copies); otherwise a concatenation that is copied back afterwards.
struct Bucket {
  std::vector<at::Tensor> members;
  int64_t bytes = 0;
  at::Tensor flat;
};

void checkTensors(const std::vector<at::Tensor>& tensors, const char* what) {
  for (size_t k = 0; k < tensors.size(); ++k) {
    if (!tensors[k].is_contiguous()) {
      throw std::invalid_argument(std::string(what) + " needs contiguous tensors, but tensor " + std::to_string(k) + " is not: call .contiguous() first (the result is written in place)");
    }
  }
}

// Fills buckets in the order tensors are given, one open bucket per (dtype, device), closing it
// at bucketBytes; every rank passes the same list, so every rank builds the same buckets.
std::vector<Bucket> makeBuckets(const std::vector<at::Tensor>& tensors, int64_t bucketBytes) {
  std::vector<Bucket> buckets;
  std::map<std::pair<int, std::string>, size_t> open;
  for (const auto& t : tensors) {
    if (t.numel() == 0) continue;
    auto key = std::make_pair(static_cast<int>(t.scalar_type()), t.device().str());
    auto found = open.find(key);
    if (found == open.end()) {
      buckets.emplace_back();
      found = open.emplace(key, buckets.size() - 1).first;
    }
    Bucket& b = buckets[found->second];
    b.members.push_back(t);
    b.bytes += t.numel() * static_cast<int64_t>(t.element_size());
    if (b.bytes >= bucketBytes) open.erase(found);
  }
  return buckets;
}

void flatten(Bucket& b, bool needValues) {
  if (b.members.size() == 1) {
    b.flat = b.members[0].view({-1});
    return;
  }
  if (!needValues) {
    b.flat = at::empty({b.bytes / static_cast<int64_t>(b.members[0].element_size())}, b.members[0].options());
    return;
  }
  std::vector<at::Tensor> views;
  for (const auto& t : b.members) views.push_back(t.view({-1}));
  b.flat = at::cat(views);
}

void unflatten(Bucket& b) {
  if (b.members.size() == 1) return;
  int64_t offset = 0;
  for (auto& t : b.members) {
    t.view({-1}).copy_(b.flat.narrow(0, offset, t.numel()));
    offset += t.numel();
  }
}

// Launches one collective per bucket, then waits for each in order: copying a bucket in overlaps
// the previous one's communication.
template <typename Launch>
void runBuckets(GroupBox& g, const std::string& what, std::vector<Bucket>& buckets, bool needValues, bool copyBack, Launch launch) {
  c10::NoGradGuard noGrad;  // parameters that require grad are written in place too
  try {
    std::vector<decltype(launch(buckets[0]))> works;
    for (auto& b : buckets) {
      flatten(b, needValues);
      works.push_back(launch(b));
    }
    for (size_t k = 0; k < buckets.size(); ++k) {
      waitFor(g, works[k]);
      if (copyBack) unflatten(buckets[k]);
    }
  } catch (...) {
    rethrowCollective(g, what);
  }
}

c10d::ReduceOp reduceOp(const std::string& name) {
  if (name == "sum" || name == "avg") return c10d::ReduceOp::SUM;  // avg = sum / worldSize: Gloo has no AVG
  if (name == "max") return c10d::ReduceOp::MAX;
  if (name == "min") return c10d::ReduceOp::MIN;
  throw std::invalid_argument("op must be 'sum', 'avg', 'max' or 'min', got '" + name + "'");
}

GroupBox& liveGroup(Args& a) {
  GroupBox& g = group(a, 0);
  withGroup(g, [](auto&) {});  // throws when destroyed
  return g;
}

}  // namespace

void registerDistributed(Napi::Env env, Napi::Object exports) {
  def(env, exports, "distBackends", [](Args& a) -> Napi::Value {
    auto out = Napi::Object::New(a.env());
    out.Set("gloo", true);
    out.Set("nccl", kWithNccl);
    return out;
  });

  // (backend, rank, worldSize, masterAddr, masterPort, timeoutMs) -> group
  def(env, exports, "distInit", [](Args& a) {
    GroupBox* box = initGroup(a.string(0), a.i64(1), a.i64(2), a.string(3), a.i64(4), a.i64(5));
    return wrapGroup(a.env(), box);
  });

  // (group, tensors, op, bucketBytes): in place
  def(env, exports, "distAllReduce", [](Args& a) {
    GroupBox& g = liveGroup(a);
    auto tensors = a.tensors(1);
    const std::string opName = a.string(2);
    c10d::ReduceOp op = reduceOp(opName);
    const int64_t bucketBytes = a.i64(3);
    if (bucketBytes < 1) throw std::invalid_argument("bucketBytes must be positive, got " + std::to_string(bucketBytes));
    checkTensors(tensors, "allReduce");
    const bool average = opName == "avg";
    for (const auto& t : tensors) {
      if (average && !at::isFloatingType(t.scalar_type())) {
        throw std::invalid_argument(std::string("allReduce with op 'avg' needs floating-point tensors, got ") + c10::toString(t.scalar_type()));
      }
    }
    auto buckets = makeBuckets(tensors, bucketBytes);
    runBuckets(g, "allReduce", buckets, true, true, [&](Bucket& b) {
      std::vector<at::Tensor> flat{b.flat};
      c10d::AllreduceOptions options;
      options.reduceOp = op;
      options.timeout = g.timeout;
      auto work = withGroup(g, [&](auto& pg) { return pg.allreduce(flat, options); });
      return work;
    });
    if (average) {
      c10::NoGradGuard noGrad;
      for (const auto& t : tensors) t.div_(g.worldSize);
    }
  });

  // (group, tensors, srcRank, bucketBytes): in place
  def(env, exports, "distBroadcast", [](Args& a) {
    GroupBox& g = liveGroup(a);
    auto tensors = a.tensors(1);
    const int64_t src = a.i64(2);
    const int64_t bucketBytes = a.optI64(3).value_or(int64_t(25) << 20);
    if (src < 0 || src >= g.worldSize) {
      throw std::invalid_argument("broadcast: src rank " + std::to_string(src) + " is out of range for worldSize " + std::to_string(g.worldSize));
    }
    if (bucketBytes < 1) throw std::invalid_argument("bucketBytes must be positive, got " + std::to_string(bucketBytes));
    checkTensors(tensors, "broadcast");
    auto buckets = makeBuckets(tensors, bucketBytes);
    const bool isSource = g.rank == src;
    runBuckets(g, "broadcast", buckets, isSource, !isSource, [&](Bucket& b) {
      std::vector<at::Tensor> flat{b.flat};
      c10d::BroadcastOptions options;
      options.rootRank = src;
      options.rootTensor = 0;
      options.timeout = g.timeout;
      return withGroup(g, [&](auto& pg) { return pg.broadcast(flat, options); });
    });
  });

  // (group, tensor) -> worldSize new tensors, rank order
  def(env, exports, "distAllGather", [](Args& a) {
    GroupBox& g = liveGroup(a);
    at::Tensor input = a.tensor(1);
    checkTensors({input}, "allGather");
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (int r = 0; r < g.worldSize; ++r) outputs[0].push_back(at::empty_like(input, at::MemoryFormat::Contiguous));
    try {
      c10::NoGradGuard noGrad;
      std::vector<at::Tensor> inputs{input.detach()};
      c10d::AllgatherOptions options;
      options.timeout = g.timeout;
      waitFor(g, withGroup(g, [&](auto& pg) { return pg.allgather(outputs, inputs, options); }));
    } catch (...) {
      rethrowCollective(g, "allGather");
    }
    return outputs[0];
  });

  def(env, exports, "distBarrier", [](Args& a) {
    GroupBox& g = liveGroup(a);
    try {
      c10d::BarrierOptions options;
      options.timeout = g.timeout;
      waitFor(g, withGroup(g, [&](auto& pg) { return pg.barrier(options); }));
    } catch (...) {
      rethrowCollective(g, "barrier");
    }
  });

  // Idempotent; returns whether this call destroyed it.
  def(env, exports, "distDestroy", [](Args& a) {
    GroupBox& g = group(a, 0);
    bool live = static_cast<bool>(g.store);
    g.destroy();
    return live;
  });

  def(env, exports, "distInfo", [](Args& a) -> Napi::Value {
    GroupBox& g = group(a, 0);
    auto info = Napi::Object::New(a.env());
    info.Set("rank", g.rank);
    info.Set("worldSize", g.worldSize);
    info.Set("backend", g.backend);
    info.Set("timeoutMs", static_cast<double>(g.timeout.count()));
    info.Set("destroyed", !g.store);
    return info;
  });
}

#else  // no c10d / Gloo headers when the addon was built: a stub that says so

void registerDistributed(Napi::Env env, Napi::Object exports) {
  def(env, exports, "distBackends", [](Args& a) -> Napi::Value {
    auto out = Napi::Object::New(a.env());
    out.Set("gloo", false);
    out.Set("nccl", false);
    return out;
  });
  for (const char* name : {"distInit", "distAllReduce", "distBroadcast", "distAllGather", "distBarrier", "distDestroy", "distInfo"}) {
    def(env, exports, name, [](Args&) {
      throw std::runtime_error(
          "this build of the addon has no distributed support (libtorch's c10d headers or the Gloo headers were not found when it was built): "
          "install libgloo-dev, or use a libtorch that ships them, and rebuild with `npm run build:native`");
    });
  }
}

#endif

}  // namespace intuitor
