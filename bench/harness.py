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
    """The OpenBLAS library torch loaded (found by path in our own memory map), or None."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "libopenblas" in line and line.rstrip().endswith(".so")}
    return ctypes.CDLL(sorted(paths)[0]) if paths else None


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
