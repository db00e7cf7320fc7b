// The process group shared by distributed.cc (collectives, the JS face) and distributed-init.cc
// (rendezvous and backend set-up). Compiled in only when libtorch's c10d headers and Gloo's were
// found (scripts/find-libtorch.mjs defines INTUITOR_WITH_GLOO); NCCL only with INTUITOR_WITH_NCCL.
#pragma once

#if INTUITOR_WITH_GLOO

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#if INTUITOR_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <initializer_list>
#include <string>

namespace intuitor::dist {

using Millis = std::chrono::milliseconds;

// We hold the concrete ProcessGroupGloo / ProcessGroupNCCL, never c10d::ProcessGroup: in libtorch
// 1.13 they derive from ProcessGroup, in 2.x from c10d::Backend, so the concrete class is the only
// type both versions share.
struct GroupBox {
  std::string backend;
  int rank = 0;
  int worldSize = 1;
  Millis timeout{0};
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#if INTUITOR_WITH_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  // The group first: its destructor joins its worker threads, which may still use the store.
  void destroy() {
    gloo.reset();
#if INTUITOR_WITH_NCCL
    nccl.reset();
#endif
    store.reset();
  }
};

// Validates the options, joins the rendezvous and connects the backend; throws with a message in
// user terms (port in use, rank 0 unreachable, world-size mismatch, ...).
GroupBox* initGroup(const std::string& backend, int64_t rank, int64_t worldSize, const std::string& addr, int64_t port, int64_t timeoutMs);

std::string seconds(Millis ms);  // "5 s", "0.5 s"
// The message of the exception in flight, in one line, without C++ backtrace or source location.
std::string currentMessage();
bool mentions(const std::string& text, std::initializer_list<const char*> needles);

}  // namespace intuitor::dist

#endif
