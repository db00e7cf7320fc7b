#!/usr/bin/env python3
"""PyTorch baseline for bench/engine.ts: the same workloads, run by Python's torch on the same libtorch.

Started by bench/engine.ts as `/usr/bin/python3 bench/engine.py '<settings JSON>'`. It sets the same
thread count, then answers commands, one JSON object per line on stdin, with one JSON line on stdout,
so that the runner can interleave the two sides' measurements round by round.

Commands: {"cmd": "info", "envNames": [..]} | {"cmd": "overhead", "iters": N} | {"cmd": "matmul", "n": N, "reps": R}
| {"cmd": "train", "steps": S} | {"cmd": "quit"}
"""

import torch
import torch.nn.functional as F

from harness import now_ns, serve, setup

settings = setup()


# ---- 1. per-op overhead --------------------------------------------------------------------------

overhead_a = torch.randn(4)
overhead_b = torch.randn(4)


def overhead(iters):
    a, b = overhead_a, overhead_b
    add = torch.add
    start = now_ns()
    for _ in range(iters):
        c = add(a, b)  # the previous result is freed when c is rebound, as the TS side disposes it
    elapsed = now_ns() - start
    del c
    return {"us_per_op": elapsed / iters / 1e3}


# ---- 2. matmul -----------------------------------------------------------------------------------

matmul_inputs = {}


def matmul(n, reps):
    if n not in matmul_inputs:
        matmul_inputs[n] = (torch.randn(n, n), torch.randn(n, n))
    a, b = matmul_inputs[n]
    start = now_ns()
    for _ in range(reps):
        c = torch.matmul(a, b)
        del c
    elapsed = now_ns() - start
    seconds = elapsed / reps / 1e9
    return {"ms_per_matmul": seconds * 1e3, "gflops": 2 * n**3 / seconds / 1e9}


# ---- 3. one training step of a transformer block ------------------------------------------------

class Block:
    """Parameters created in the same order, shapes and scales as the TS side (same seed, same values)."""

    def __init__(self, s):
        torch.manual_seed(s["seed"])
        d, m, v = s["d"], s["mlp"], s["vocab"]

        def weight(out_features, in_features):
            return torch.randn(out_features, in_features).mul_(in_features**-0.5).requires_grad_()

        self.norm1 = torch.ones(d).requires_grad_()
        self.wq, self.wk, self.wv, self.wo = (weight(d, d) for _ in range(4))
        self.norm2 = torch.ones(d).requires_grad_()
        self.w_gate, self.w_up = weight(m, d), weight(m, d)
        self.w_down = weight(d, m)
        self.head = weight(v, d)
        self.params = [self.norm1, self.wq, self.wk, self.wv, self.wo, self.norm2, self.w_gate, self.w_up, self.w_down, self.head]
        self.x = torch.randn(s["B"], s["T"], d)
        self.targets = torch.randint(0, v, (s["B"] * s["T"],))


def rms_norm(x, weight, eps):
    # intuitor's native rmsNorm, op for op (Hugging Face's Llama RMSNorm).
    x32 = x.to(torch.float32)
    normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)
    return weight * normed.to(x.dtype)


def forward(blk, s):
    B, T, d, H = s["B"], s["T"], s["d"], s["heads"]
    hd = d // H
    eps = s["eps"]
    x = blk.x
    h = rms_norm(x, blk.norm1, eps)
    q = F.linear(h, blk.wq).view(B, T, H, hd).transpose(1, 2)
    k = F.linear(h, blk.wk).view(B, T, H, hd).transpose(1, 2)
    v = F.linear(h, blk.wv).view(B, T, H, hd).transpose(1, 2)
    # libtorch 1.13's at::_scaled_dot_product_attention, the kernel intuitor's scaledDotProductAttention calls there
    a = F._scaled_dot_product_attention(q, k, v, None, 0.0, False, True)[0]
    a = a.transpose(1, 2).reshape(B, T, d)
    x1 = x + F.linear(a, blk.wo)
    h2 = rms_norm(x1, blk.norm2, eps)
    mlp = F.linear(F.silu(F.linear(h2, blk.w_gate)) * F.linear(h2, blk.w_up), blk.w_down)
    x2 = x1 + mlp
    logits = F.linear(x2, blk.head).view(B * T, s["vocab"])
    return F.cross_entropy(logits, blk.targets)


def train(steps):
    """A fresh block and optimizer (same seed as the TS side), one untimed step, then `steps` timed steps."""
    s = settings["train"]
    blk = Block(s)
    # foreach=False: the per-parameter algorithm, the one intuitor's AdamW runs natively.
    opt = torch.optim.AdamW(blk.params, lr=s["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, foreach=False)

    def step():
        loss = forward(blk, s)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)  # intuitor's zeroGrad sets grads to none
        return loss.item()

    losses = [step()]
    start = now_ns()
    for _ in range(steps):
        losses.append(step())
    elapsed = now_ns() - start
    return {"ms_per_step": elapsed / steps / 1e6, "losses": losses}


def main():
    serve(
        {
            "overhead": lambda c: overhead(c["iters"]),
            "matmul": lambda c: matmul(c["n"], c["reps"]),
            "train": lambda c: train(c["steps"]),
        }
    )


if __name__ == "__main__":
    main()
