#!/usr/bin/env python3
"""PyTorch baseline for bench/train.ts: the forward+backward of one GRPO micro-batch in plain PyTorch.

Started by bench/train.ts (and bench/gpu-check.ts) as `python3 bench/train.py '<settings JSON>'`. It sets the
same thread count, computes on the settings' "device" ('cpu' by default; on CUDA every clock is read after
torch.cuda.synchronize()), loads the model folder the TS side saved (the decoder of bench/qwen2.py, shared with
bench/generate.py), then answers commands, one JSON object per line on stdin, one JSON line on stdout.

The work is what src/rl/policy.ts (completionLogprobs) and src/rl/loss.ts (policyLoss, grpo, beta 0)
compute on a batch packed by src/model/pack.ts (completions right-aligned in the last R columns):
  - one forward with the attention mask, no cache, to the final-normed hidden states [B, L, d];
  - the R predicting positions [L - R - 1, L - 1) through the tied LM head: logits [B, R, V];
  - log_softmax(logits / temperature) gathered at the completion tokens: logprobs [B, R];
  - detached, as completionLogprobs does for rewards and metrics: self-certainty
    (logsumexp - mean - log V) and entropy (-sum p log p) of the raw logits, naive ATen ops;
  - the loss: ratio = exp(logp - logp.detach()), -min(ratio A, clip(ratio, 1 - eps, 1 + eps) A) per
    token, masked, mean over sequences of each sequence's token mean; the clip fraction as a number;
  - backward into every weight (the tied embedding once), gradients cleared before each pass.

Commands: {"cmd": "info", "envNames": [..]} | {"cmd": "load", "dir": D}
| {"cmd": "fwdbwd", "batch": {inputIds, attentionMask, completionMask, length, completionWidth},
   "advantages": [..], "temperature": T, "epsilon": E, "reps": R, "check": bool} | {"cmd": "quit"}
"""

import math
import sys

import torch

import harness
from harness import device_info, device_of, now_ns, serve, setup, synchronize
from qwen2 import Qwen2

settings = setup()
DEVICE = device_of(settings)

MODEL = None
PARAMS = []


def load(command):
    global MODEL, PARAMS
    start = now_ns()
    MODEL = Qwen2(command["dir"], DEVICE)
    PARAMS = MODEL.parameters()
    for p in PARAMS:
        p.requires_grad_(True)
    return {"ms": (now_ns() - start) / 1e6, "parameters": sum(p.numel() for p in PARAMS)}


def step(b, advantages, temperature, epsilon, check):
    """One forward + loss + backward from the packed batch's lists (completionLogprobs also makes its tensors
    from the PackedBatch's arrays); returns the loss, the clip fraction and, with check, the masked sum of
    the log-probabilities."""
    model = MODEL
    length, width = b["length"], b["completionWidth"]
    ids = torch.tensor(b["inputIds"], dtype=torch.int64, device=DEVICE)
    attention_mask = torch.tensor(b["attentionMask"], dtype=torch.int64, device=DEVICE)
    mask = torch.tensor(b["completionMask"], dtype=torch.float32, device=DEVICE)
    advantages = torch.tensor(advantages, dtype=torch.float32, device=DEVICE)
    hidden = model.forward(ids, attention_mask, None, output="hidden")  # [B, L, d]
    predicting = hidden.narrow(1, length - width - 1, width)  # [B, R, d]
    targets = ids.narrow(1, length - width, width)  # [B, R]
    logits = torch.nn.functional.linear(predicting, model.lm_head).float()  # [B, R, V]
    logprobs = logits.div(temperature).log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # [B, R]
    with torch.no_grad():
        z = logits.detach()
        lse = z.logsumexp(-1)
        certainty = lse - z.mean(-1) - math.log(z.shape[-1])
        logp = z - lse.unsqueeze(-1)
        entropy = (logp.exp() * logp).sum(-1).neg()
        del certainty, entropy, logp, z
    old = logprobs.detach()
    ratio = logprobs.sub(old).exp()
    a = advantages.unsqueeze(1)
    unclipped = ratio * a
    clipped = ratio.clamp(1 - epsilon, 1 + epsilon) * a
    per_token = torch.minimum(unclipped, clipped).neg()
    masked = per_token * mask
    loss = masked.sum(1).div(mask.sum(1).clamp(min=1)).mean()
    tokens = max(1.0, mask.sum().item())
    clipped_low = ratio.lt(1 - epsilon).logical_and(a.lt(0))
    clipped_high = ratio.gt(1 + epsilon).logical_and(a.gt(0))
    clip_fraction = clipped_low.logical_or(clipped_high).float().mul(mask).sum().item() / tokens
    loss.backward()
    logprob_sum = logprobs.detach().mul(mask).sum().item() if check else None
    return loss.item(), clip_fraction, logprob_sum


def fwdbwd(command):
    """Milliseconds per forward+backward (mean of reps; gradients cleared outside the timing), the last loss."""
    check = command.get("check", False)
    total = 0
    loss = clip = logprob_sum = None
    for _ in range(command["reps"]):
        for p in PARAMS:
            p.grad = None
        synchronize(DEVICE)
        start = now_ns()
        loss, clip, logprob_sum = step(command["batch"], command["advantages"], command["temperature"], command["epsilon"], check)
        synchronize(DEVICE)
        total += now_ns() - start
    out = {"ms": total / command["reps"] / 1e6, "loss": loss, "clip_fraction": clip}
    if check:
        out["logprob_sum"] = logprob_sum
        out["grad_norm"] = torch.sqrt(sum(p.grad.double().pow(2).sum() for p in PARAMS)).item()
    for p in PARAMS:
        p.grad = None
    return out


def main():
    serve(
        {
            "info": lambda c: harness.info(c, python=sys.version.split()[0], **device_info(DEVICE)),
            "load": load,
            "fwdbwd": fwdbwd,
        }
    )


if __name__ == "__main__":
    main()
