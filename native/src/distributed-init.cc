// Rendezvous and backend set-up for distributed.cc: rank 0 hosts a c10d TCPStore at
// masterAddr:masterPort and the others connect; every rank publishes its worldSize there and
// compares it with rank 0's before the backend builds its mesh, so a mis-launched job fails at
// once with both values instead of timing out. Failures are rethrown in user terms.
#include "distributed.h"

#if INTUITOR_WITH_GLOO

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <c10/util/Exception.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace intuitor::dist {

std::string seconds(Millis ms) {
  double s = static_cast<double>(ms.count()) / 1000.0;
  char text[32];
  std::snprintf(text, sizeof text, s == static_cast<int64_t>(s) ? "%.0f s" : "%.1f s", s);
  return text;
}

// The message of the exception in flight: ATen's without its C++ backtrace, gloo's without the
// "[file.cc:123] " source location in front, and only its first line.
std::string currentMessage() {
  std::string m;
  try {
    throw;
  } catch (const c10::Error& e) {
    m = e.what_without_backtrace();
  } catch (const std::exception& e) {
    m = e.what();
  } catch (...) {
    m = "unknown native error";
  }
  if (!m.empty() && m[0] == '[') {
    size_t close = m.find("] ");
    if (close != std::string::npos && close < 200) m = m.substr(close + 2);
  }
  size_t newline = m.find('\n');
  return newline == std::string::npos ? m : m.substr(0, newline);
}

bool mentions(const std::string& text, std::initializer_list<const char*> needles) {
  for (const char* n : needles) {
    if (text.find(n) != std::string::npos) return true;
  }
  return false;
}

// Rethrows the exception in flight as "<what> failed: <reason in user terms> (<raw message>)".

namespace {

std::vector<uint8_t> bytesOf(const std::string& s) { return {s.begin(), s.end()}; }
std::string stringOf(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

c10::intrusive_ptr<c10d::Store> connectStore(int rank, int worldSize, const std::string& addr, int port, Millis timeout) {
  const std::string where = addr + ":" + std::to_string(port);
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(port);
  options.isServer = rank == 0;
  options.numWorkers = static_cast<std::size_t>(worldSize);
  // Not TCPStore's own waitWorkers: the world-size check below waits for every rank itself, and
  // unlike waitWorkers it can tell a rank started with another WORLD_SIZE from a missing one.
  options.waitWorkers = false;
  options.timeout = timeout;
  try {
    return c10::make_intrusive<c10d::TCPStore>(addr, options);
  } catch (...) {
    std::string raw = currentMessage();
    if (rank == 0 && mentions(raw, {"already in use", "errno: 98", "EADDRINUSE"})) {
      throw std::runtime_error("MASTER_PORT " + std::to_string(port) + " on " + addr +
                               " is already in use: choose another --master-port (or MASTER_PORT), or stop the process holding it (" + raw + ")");
    }
    if (rank == 0) throw std::runtime_error("rank 0 could not host the rendezvous at " + where + ": " + raw);
    throw std::runtime_error("rank " + std::to_string(rank) + " could not reach the rendezvous at " + where + " within " + seconds(timeout) +
                             ": check MASTER_ADDR/MASTER_PORT and that rank 0 is running (" + raw + ")");
  }
}

// Every rank publishes its worldSize; rank 0 checks each other rank's, the others check rank 0's.
// A rank other than 0 reads rank 0's before publishing its own, so it has its answer before rank 0
// can see a mismatch and close the rendezvous. Then each rank counts itself in, so that two
// processes given the same RANK are told so.
void checkWorldSize(c10d::Store& store, int rank, int worldSize, const std::string& where, Millis timeout) {
  auto key = [](int r) { return "intuitor/worldSize/" + std::to_string(r); };
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto check = [&](int other) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    std::string theirs;
    try {
      store.wait({key(other)}, std::max(left, Millis(1)));
      theirs = stringOf(store.get(key(other)));
    } catch (...) {
      std::string raw = currentMessage();
      if (mentions(raw, {"imeout", "imed out"})) {
        throw std::runtime_error("rank " + std::to_string(rank) + " waited " + seconds(timeout) + " at the rendezvous " + where + " but rank " +
                                 std::to_string(other) + " (of worldSize " + std::to_string(worldSize) +
                                 ") never joined: start every rank with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE (" + raw + ")");
      }
      throw std::runtime_error("rank " + std::to_string(rank) + " lost the rendezvous at " + where + " while waiting for rank " + std::to_string(other) +
                               ": is rank 0 still running, and is MASTER_ADDR:MASTER_PORT its rendezvous and not another server? (" + raw + ")");
    }
    if (theirs.empty() || theirs.size() > 9 || theirs.find_first_not_of("0123456789") != std::string::npos) {
      throw std::runtime_error("the server at " + where + " is not intuitor's rendezvous (it answered " + std::to_string(theirs.size()) +
                               " unexpected bytes): check MASTER_ADDR/MASTER_PORT");
    }
    if (rank != 0) store.set(key(rank), bytesOf(std::to_string(worldSize)));
    if (theirs != std::to_string(worldSize)) {
      throw std::runtime_error("world size mismatch: this rank (" + std::to_string(rank) + ") was started with worldSize " + std::to_string(worldSize) +
                               " but rank " + std::to_string(other) + " with worldSize " + theirs + ": start every rank with the same WORLD_SIZE");
    }
  };
  if (rank == 0) {
    store.set(key(0), bytesOf(std::to_string(worldSize)));
    for (int r = 1; r < worldSize; ++r) check(r);
  } else {
    check(0);
  }
  if (store.add("intuitor/rank/" + std::to_string(rank), 1) != 1) {
    throw std::runtime_error("two processes joined the rendezvous at " + where + " as rank " + std::to_string(rank) + ": give each its own RANK");
  }
}

// Gloo's transport binds to the master's address when it is one of ours (all ranks on one host),
// else to this host's default address; GLOO_SOCKET_IFNAME picks an interface, as in PyTorch.
std::shared_ptr<::gloo::transport::Device> glooDevice(const std::string& masterAddr) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != '\0') {
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  try {
    return c10d::ProcessGroupGloo::createDeviceForHostname(masterAddr);
  } catch (...) {
    return c10d::ProcessGroupGloo::createDefaultDevice();
  }
}

#if INTUITOR_WITH_NCCL
// ProcessGroupNCCL's defaults tear the process down when a collective times out (a watchdog thread
// aborts). Blocking wait makes Work::wait throw instead; a value the user set is kept.
void preferNcclErrorsOverAborts() {
  if (!std::getenv("TORCH_NCCL_BLOCKING_WAIT") && !std::getenv("NCCL_BLOCKING_WAIT")) setenv("TORCH_NCCL_BLOCKING_WAIT", "1", 0);
  if (!std::getenv("TORCH_NCCL_ASYNC_ERROR_HANDLING") && !std::getenv("NCCL_ASYNC_ERROR_HANDLING")) setenv("TORCH_NCCL_ASYNC_ERROR_HANDLING", "2", 0);
  setenv("TORCH_NCCL_ENABLE_MONITORING", "0", 0);
}
#endif

}  // namespace

GroupBox* initGroup(const std::string& backend, int64_t rank, int64_t worldSize, const std::string& addr, int64_t port, int64_t timeoutMs) {
  if (backend != "gloo" && backend != "nccl") throw std::invalid_argument("backend must be 'gloo' or 'nccl', got '" + backend + "'");
#if !INTUITOR_WITH_NCCL
  if (backend == "nccl") {
    throw std::runtime_error("this build of the addon has no NCCL: build against a CUDA libtorch whose include folder (or the pip package nvidia-nccl) has nccl.h, or use backend 'gloo'");
  }
#endif
  if (worldSize < 1) throw std::invalid_argument("worldSize must be at least 1, got " + std::to_string(worldSize));
  if (rank < 0 || rank >= worldSize) {
    throw std::invalid_argument("rank " + std::to_string(rank) + " is out of range for worldSize " + std::to_string(worldSize) + " (ranks are 0.." +
                                std::to_string(worldSize - 1) + ")");
  }
  if (port < 1 || port > 65535) throw std::invalid_argument("masterPort must be in 1..65535, got " + std::to_string(port));
  if (timeoutMs < 1) throw std::invalid_argument("timeoutMs must be positive, got " + std::to_string(timeoutMs));
  if (addr.empty()) throw std::invalid_argument("masterAddr is empty");

  auto box = std::make_unique<GroupBox>();
  box->backend = backend;
  box->rank = static_cast<int>(rank);
  box->worldSize = static_cast<int>(worldSize);
  box->timeout = Millis(timeoutMs);
  const std::string where = addr + ":" + std::to_string(port);
  box->store = connectStore(box->rank, box->worldSize, addr, static_cast<int>(port), box->timeout);
  checkWorldSize(*box->store, box->rank, box->worldSize, where, box->timeout);

  // Keys of the backend's own rendezvous live under a prefix, apart from ours.
  auto store = c10::make_intrusive<c10d::PrefixStore>("intuitor/" + backend, box->store);
  try {
#if INTUITOR_WITH_NCCL
    if (backend == "nccl") {
      preferNcclErrorsOverAborts();
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = box->timeout;
      box->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, box->rank, box->worldSize, options);
      return box.release();
    }
#endif
    auto options = c10d::ProcessGroupGloo::Options::create(box->timeout);
    options->devices.push_back(glooDevice(addr));
    box->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(store, box->rank, box->worldSize, options);
  } catch (...) {
    std::string raw = currentMessage();
    throw std::runtime_error("rank " + std::to_string(rank) + " could not connect to the other ranks' " + backend + " transport within " +
                             seconds(box->timeout) + " (" + raw + "): on several machines, set GLOO_SOCKET_IFNAME to the interface that reaches them");
  }
  return box.release();
}

}  // namespace intuitor::dist

#endif
