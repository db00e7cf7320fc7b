"""Shared plumbing of the bench/*.py PyTorch baselines: the runner's settings and thread count, the
OpenBLAS library torch loaded, the clock, and the command loop (one JSON object per line on stdin,
one JSON line on stdout). See bench/README.md."""

import ctypes
import json
import os
import sys
import time

import torch


def openblas():
    """The OpenBLAS library torch loaded (found by path in our own memory map), or None. Only a library with
    OpenBLAS's plain symbol names counts: numpy's wheels bundle one whose symbols end in 64_, which torch does
    not use (a pip torch links MKL)."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "libopenblas" in line and line.rstrip().endswith(".so")}
    for path in sorted(paths):
        lib = ctypes.CDLL(path)
        if hasattr(lib, "openblas_set_num_threads") and hasattr(lib, "openblas_get_corename"):
            return lib
    return None


BLAS = None


def setup():
    """The settings JSON in argv[1]; sets its thread count for ATen and OpenBLAS, as intuitor's setNumThreads does."""
    global BLAS
    settings = json.loads(sys.argv[1])
    torch.set_num_threads(settings["threads"])
    BLAS = openblas()
    if BLAS is not None:
        BLAS.openblas_set_num_threads(settings["threads"])
    return settings


def blas_core():
    if BLAS is None:
        return ""
    BLAS.openblas_get_corename.restype = ctypes.c_char_p
    return BLAS.openblas_get_corename().decode()


def now_ns():
    return time.perf_counter_ns()


def device_of(settings):
    """The settings' "device" ('cpu' when absent); on CUDA, float32 matmuls stay float32 (no TF32), as libtorch's default."""
    device = settings.get("device", "cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {device}: this Python torch {torch.__version__} has no CUDA or sees no GPU")
        torch.backends.cuda.matmul.allow_tf32 = False
        if ":" in device:
            torch.cuda.set_device(torch.device(device))
    return device


def synchronize(device):
    """Waits for the device's queued work, so that a clock read after it counts that work."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def device_info(device):
    """What the "info" answer says about the device."""
    if not device.startswith("cuda"):
        return {"device": device}
    return {"device": device, "deviceName": torch.cuda.get_device_name(), "cudaVersion": torch.version.cuda, "allowTf32": torch.backends.cuda.matmul.allow_tf32}


def info(command, **extra):
    """The answer to {"cmd": "info", "envNames": [..]}: torch, threads, OpenBLAS core, those variables."""
    env = {name: os.environ.get(name) for name in command["envNames"]}
    return {"torch": torch.__version__, "threads": torch.get_num_threads(), "blasCore": blas_core(), "env": env, **extra}


def serve(handlers):
    """Answers commands until "quit" or the end of stdin; handlers: cmd -> function(command) -> JSON-able."""
    handlers = {"info": info, **handlers}
    for line in sys.stdin:
        command = json.loads(line)
        cmd = command["cmd"]
        if cmd == "quit":
            break
        if cmd not in handlers:
            raise ValueError(f"unknown command {cmd!r}")
        out = handlers[cmd](command)
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
