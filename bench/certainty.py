#!/usr/bin/env python3
"""PyTorch baseline for bench/certainty.ts: naive self-certainty scoring of the same logits in Python's torch.

Two modes, both started by bench/certainty.ts with its settings as JSON:

  /usr/bin/python3 bench/certainty.py '<settings JSON>'
      Timing server: answers commands, one JSON object per line on stdin, with one JSON line on stdout,
      so that the runner can interleave the two sides round by round.
      Commands: {"cmd": "info", "envNames": [..]} | {"cmd": "make", "dtype": D} | {"cmd": "certainty", "dtype": D}
      | {"cmd": "full", "dtype": D} | {"cmd": "reference", "dtype": D} | {"cmd": "quit"}

  /usr/bin/python3 bench/certainty.py '<settings JSON>' --memory '{"dtype": D, "path": "certainty" | "full"}'
      Memory probe: a fresh process that makes the logits, warms the code path up on a few rows, then
      measures the resident-memory high-water mark around one scoring call; prints one JSON line.

The logits are made exactly as bench/certainty.ts makes them (same seed, same ops, same order); the runner
checks that with a SHA-256 of their bytes.
"""

import hashlib
import json
import math
import resource
import sys

import torch

from harness import now_ns, serve, setup

settings = setup()

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
L = settings["logits"]
T, V = L["T"], L["V"]
LOG_V = math.log(V)


# ---- the logits (same recipe as makeLogits in bench/certainty.ts) ----------------------------------


def row_scale(i):
    return 1 + 3 * ((i * 37) % 64) / 63


def row_peak(i):
    return ((i * 11) % 8) * 3


def peak_column(i):
    return (i * 7919) % V


def make_logits(dtype):
    """[T, V] logits: row i is row_scale(i) * N(0, 1) noise plus row_peak(i) on one token, made in
    chunks of rows in float32 and copied into the [T, V] tensor of `dtype` (no full-size temporary)."""
    torch.manual_seed(L["seed"])
    out = torch.empty(T, V, dtype=DTYPES[dtype])
    for r0 in range(0, T, L["genRows"]):
        rows = min(L["genRows"], T - r0)
        chunk = torch.randn(rows, V)
        for i in range(r0, r0 + rows):
            row = chunk.narrow(0, i - r0, 1)
            row.mul_(row_scale(i))
            peak = row_peak(i)
            if peak != 0:
                row.narrow(1, peak_column(i), 1).add_(peak)
        out.narrow(0, r0, rows).copy_(chunk)
        del chunk
    return out


def sha256(x):
    h = hashlib.sha256()
    for r0 in range(0, T, L["genRows"]):
        chunk = x.narrow(0, r0, min(L["genRows"], T - r0))
        if chunk.dtype == torch.bfloat16:
            chunk = chunk.view(torch.int16)  # numpy has no bfloat16: hash the same bytes as int16
        h.update(chunk.numpy())
    return h.hexdigest()


# ---- the naive scoring code, as one would write it in PyTorch -------------------------------------


def certainty(x):
    """Self-certainty KL(U || p) per row, the naive way. bfloat16 logits are upcast as people do it."""
    if x.dtype == torch.float32:
        return torch.logsumexp(x, -1) - x.mean(-1) - LOG_V
    return torch.logsumexp(x.float(), -1) - x.float().mean(-1) - LOG_V


def full(x):
    """Every column of intuitor's full statistics (logsumexp, mean, entropy, gini), the naive way."""
    z = x if x.dtype == torch.float32 else x.float()
    lse = torch.logsumexp(z, -1)
    mean = z.mean(-1)
    logp = torch.log_softmax(z, -1)
    p = logp.exp()
    entropy = -(p * logp).sum(-1)
    gini = (p * p).sum(-1)
    return lse - mean - LOG_V, entropy, gini


def reference(x):
    """float64 values of the same statistics, computed in chunks of rows (no full float64 copy)."""
    cert, ent, gini = [], [], []
    for r0 in range(0, T, 128):
        z = x.narrow(0, r0, min(128, T - r0)).double()
        lse = torch.logsumexp(z, -1)
        logp = z - lse.unsqueeze(1)
        p = logp.exp()
        cert.append(lse - z.mean(-1) - LOG_V)
        ent.append(-(p * logp).sum(-1))
        gini.append((p * p).sum(-1))
    return torch.cat(cert), torch.cat(ent), torch.cat(gini)


# ---- timing server ---------------------------------------------------------------------------------

logits = {}


def timed(fn, x):
    """Wall time of one call, and the process's CPU time in it (all threads), split into user and kernel."""
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = now_ns()
    out = fn(x)
    elapsed = now_ns() - start
    used = resource.getrusage(resource.RUSAGE_SELF)
    del out  # freed after the clock stops, as the TS side disposes its results
    return {"ms": elapsed / 1e6, "userMs": (used.ru_utime - cpu.ru_utime) * 1e3, "sysMs": (used.ru_stime - cpu.ru_stime) * 1e3}


def make(command):
    start = now_ns()
    logits[command["dtype"]] = make_logits(command["dtype"])
    made = now_ns() - start
    return {"sha256": sha256(logits[command["dtype"]]), "msToMake": made / 1e6}


def compare(command):
    x = logits[command["dtype"]]
    ref = reference(x)
    naive = certainty(x)
    naive_full = full(x)
    return {
        "reference": {"certainty": ref[0].tolist(), "entropy": ref[1].tolist(), "gini": ref[2].tolist()},
        "naive": {"certainty": naive.tolist(), "entropy": naive_full[1].tolist(), "gini": naive_full[2].tolist()},
    }


def serve_commands():
    serve(
        {
            "make": make,
            "certainty": lambda c: timed(certainty, logits[c["dtype"]]),
            "full": lambda c: timed(full, logits[c["dtype"]]),
            "reference": compare,
        }
    )


# ---- memory probe ----------------------------------------------------------------------------------


def proc_status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def reset_hwm():
    """Resets this process's resident high-water mark (VmHWM) to its current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def max_rss_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def memory_probe(probe):
    fn = certainty if probe["path"] == "certainty" else full
    start_rss = proc_status_kib("VmRSS")
    x = make_logits(probe["dtype"])
    rss_made = proc_status_kib("VmRSS")
    # Warm-up on a small corner ([8, 4096]), as the TS side: pages in the kernels' code, starts the threads.
    fn(x.narrow(0, 0, 8).narrow(1, 0, probe["warmupColumns"]))
    rss_before = proc_status_kib("VmRSS")
    max_rss_before = max_rss_kib()
    hwm_reset = reset_hwm()
    result = fn(x)
    hwm_after = proc_status_kib("VmHWM")
    max_rss_after = max_rss_kib()
    rss_after = proc_status_kib("VmRSS")
    del result
    out = {
        "side": "python",
        **probe,
        "logitsBytes": x.numel() * x.element_size(),
        "rssStartKiB": start_rss,
        "rssMadeKiB": rss_made,
        "rssBeforeKiB": rss_before,
        "rssAfterKiB": rss_after,
        "hwmReset": hwm_reset,
        "hwmAfterKiB": hwm_after,
        "maxRssBeforeKiB": max_rss_before,
        "maxRssAfterKiB": max_rss_after,
    }
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[2] == "--memory":
        memory_probe(json.loads(sys.argv[3]))
    else:
        serve_commands()
