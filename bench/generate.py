#!/usr/bin/env python3
"""PyTorch baseline for bench/generate.ts: the same Qwen2 decoder and KV-cache sampling loop, in plain PyTorch.

Started by bench/generate.ts (and bench/gpu-check.ts) as `python3 bench/generate.py '<settings JSON>'`. It sets
the same thread count, computes on the settings' "device" ('cpu' by default; on CUDA the clocks are read after
torch.cuda.synchronize(), and sampling draws on the GPU with a CUDA generator), loads the model folder the TS side saved (config.json + model.safetensors, read by the small
parser in bench/qwen2.py), then answers commands, one JSON object per line on stdin, with one JSON line on stdout, so
that the runner can interleave the two sides' measurements round by round.

The decoder and the loop make the same algorithmic choices as src/model/causal-lm.ts and
src/generate/generate.ts, op for op where it matters for the numbers:
  - left-padded prompts, one forward of the whole prompt batch (logits at every position, as
    generate() computes them), then one token per step;
  - a preallocated KV cache [B, Hkv, max_len, D] per layer, written in place (no torch.cat of keys);
  - position ids from the attention mask's cumulative sum (padding gets 1), an additive [B, 1, T, Tk]
    mask (0 or float32's most negative value) built per forward from the mask, grown by one column per step;
  - GQA by repeat_interleave, attention by libtorch 1.13's _scaled_dot_product_attention (the kernel
    intuitor's scaledDotProductAttention calls with a mask there);
  - per step, on the raw last-position logits: logsumexp, softmax entropy (-sum p log p with
    log p = z - logsumexp), the sampled token's log-probability (z_token - logsumexp) and self-certainty
    (logsumexp - mean - log V), the formulas of src/certainty/token-statistics.ts; sampling by softmax + torch.multinomial
    at temperature 1 (argmax at temperature 0), with a torch.Generator seeded per call;
  - everything under torch.no_grad() (intuitor's noGrad is a NoGradGuard too).

Commands: {"cmd": "info", "envNames": [..]} | {"cmd": "load", "dir": D}
| {"cmd": "prefill", "prompts": [[..]], "reps": R} | {"cmd": "generate", "prompts": [[..]], "max_new_tokens": N,
"temperature": 0 or 1, "seed": S, "return_tokens": bool} | {"cmd": "quit"}
"""

import math
import sys

import torch

import harness
from harness import device_info, device_of, now_ns, serve, setup, synchronize
from qwen2 import KVCache, Qwen2

settings = setup()
DEVICE = device_of(settings)


MODEL = None
PAD_ID = 0


def left_pad(prompts):
    length = max(len(p) for p in prompts)
    ids = torch.tensor([[PAD_ID] * (length - len(p)) + p for p in prompts], dtype=torch.int64, device=DEVICE)
    mask = torch.tensor([[0] * (length - len(p)) + [1] * len(p) for p in prompts], dtype=torch.int64, device=DEVICE)
    return ids, mask


def prefill(prompts, reps):
    """Milliseconds per forward of the whole left-padded prompt batch into a fresh cache (no sampling)."""
    ids, mask = left_pad(prompts)
    total = 0
    with torch.no_grad():
        for _ in range(reps):
            cache = KVCache(MODEL, ids.shape[0], ids.shape[1])
            synchronize(DEVICE)
            start = now_ns()
            logits = MODEL.forward(ids, mask, cache)
            synchronize(DEVICE)
            total += now_ns() - start
            del logits, cache
    return {"ms_per_forward": total / reps / 1e6}


def generate(prompts, max_new_tokens, temperature, seed, return_tokens):
    """generate()'s loop, EOS disabled: every row decodes max_new_tokens tokens. Times the whole call and
    the end of the prompt forward, as the TS side does."""
    model = MODEL
    vocab = model.vocab
    log_v = math.log(vocab)
    generator = torch.Generator(DEVICE).manual_seed(seed)
    batch = len(prompts)
    synchronize(DEVICE)
    start = now_ns()
    prefill_end = None
    with torch.no_grad():
        input_ids, mask = left_pad(prompts)
        cache = KVCache(model, batch, input_ids.shape[1] + max_new_tokens)
        tokens = [[] for _ in range(batch)]
        stats = [[] for _ in range(batch)]
        for step in range(max_new_tokens):
            logits = model.forward(input_ids, mask, cache)
            if prefill_end is None:
                synchronize(DEVICE)
                prefill_end = now_ns()
            logits = logits.select(1, -1).float()  # [B, V]
            if temperature == 0:
                chosen_t = logits.argmax(-1)
            else:
                warped = logits if temperature == 1 else logits.div(temperature)
                chosen_t = torch.multinomial(warped.softmax(-1), 1, generator=generator).squeeze(-1)
            # the per-token statistics, in the formulas of intuitor's fused kernel (native/src/certainty.cc)
            lse = logits.logsumexp(-1)  # [B]
            mean = logits.mean(-1)
            logp = logits - lse.unsqueeze(1)  # [B, V]
            entropy = (logp.exp() * logp).sum(1).neg()  # -sum p log p
            logprob = logits.gather(1, chosen_t.unsqueeze(1)).squeeze(1) - lse
            certainty = lse - mean - log_v  # self-certainty KL(U || p)
            chosen = chosen_t.tolist()
            row_stats = torch.stack([logprob, entropy, certainty]).double().tolist()
            for b, token in enumerate(chosen):
                tokens[b].append(token)
                stats[b].append({"logprob": row_stats[0][b], "entropy": row_stats[1][b], "selfCertainty": row_stats[2][b]})
            if step == max_new_tokens - 1:
                break
            input_ids = torch.tensor([[t] for t in chosen], dtype=torch.int64, device=DEVICE)
            mask = torch.cat([mask, torch.ones_like(input_ids)], 1)
        del cache
    synchronize(DEVICE)
    end = now_ns()
    out = {"total_ms": (end - start) / 1e6, "decode_ms": (end - prefill_end) / 1e6, "prefill_ms": (prefill_end - start) / 1e6}
    if return_tokens:
        out["tokens"] = tokens
        out["stats"] = [[[s["logprob"], s["entropy"], s["selfCertainty"]] for s in row] for row in stats]
    return out


def load(command):
    global MODEL, PAD_ID
    start = now_ns()
    MODEL = Qwen2(command["dir"], DEVICE)
    PAD_ID = command["pad_id"]
    return {"ms": (now_ns() - start) / 1e6}


def main():
    serve(
        {
            "info": lambda c: harness.info(c, python=sys.version.split()[0], **device_info(DEVICE)),
            "load": load,
            "prefill": lambda c: prefill(c["prompts"], c["reps"]),
            "generate": lambda c: generate(c["prompts"], c["max_new_tokens"], c["temperature"], c["seed"], c["return_tokens"]),
        }
    )


if __name__ == "__main__":
    main()
