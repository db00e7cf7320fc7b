#!/usr/bin/env python3
"""PyTorch baseline for bench/generate.ts: the same Qwen2 decoder and KV-cache sampling loop, in plain PyTorch.

Started by bench/generate.ts as `/usr/bin/python3 bench/generate.py '<settings JSON>'`. It sets the same
thread count, loads the model folder the TS side saved (config.json + model.safetensors, read by the small
parser below), then answers commands, one JSON object per line on stdin, with one JSON line on stdout, so
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

import json
import math
import os
import sys

import torch
import torch.nn.functional as F

import harness
from harness import now_ns, serve, setup

settings = setup()


# ---- safetensors ----------------------------------------------------------------------------------

SAFETENSORS_DTYPES = {
    "F32": torch.float32,
    "F64": torch.float64,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def read_safetensors(path):
    """name -> tensor: 8-byte little-endian header length, a JSON header, then raw little-endian data."""
    if sys.byteorder != "little":
        raise RuntimeError("this reader assumes a little-endian machine")
    with open(path, "rb") as f:
        data = bytearray(f.read())  # writable, so torch.frombuffer does not warn
    header_len = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + header_len].decode("utf-8"))
    start = 8 + header_len
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = SAFETENSORS_DTYPES[entry["dtype"]]
        begin, end = entry["data_offsets"]
        shape = entry["shape"]
        count = math.prod(shape)
        itemsize = torch.empty((), dtype=dtype).element_size()
        if (end - begin) != count * itemsize:
            raise ValueError(f"{path}: {name}: {end - begin} bytes for shape {shape} of {entry['dtype']}")
        flat = torch.frombuffer(data, dtype=dtype, count=count, offset=start + begin) if count else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(shape).clone()  # own, aligned memory
    return tensors


# ---- the decoder -------------------------------------------------------------------------------------

MOST_NEGATIVE = torch.finfo(torch.float32).min


class Qwen2:
    """Qwen2's decoder as Hugging Face transformers computes it (eager attention), float32."""

    def __init__(self, folder):
        with open(os.path.join(folder, "config.json")) as f:
            c = json.load(f)
        if c["model_type"] != "qwen2":
            raise ValueError(f"expected a qwen2 config, got {c['model_type']}")
        self.vocab = c["vocab_size"]
        self.d = c["hidden_size"]
        self.layers = c["num_hidden_layers"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads", self.heads)
        self.head_dim = c.get("head_dim", self.d // self.heads)
        self.eps = c.get("rms_norm_eps", 1e-6)
        self.theta = c.get("rope_theta", 10000.0)
        if c.get("rope_scaling"):
            raise ValueError("rope_scaling is not implemented here")
        if c.get("use_sliding_window"):
            raise ValueError("sliding-window attention is not implemented here")
        w = read_safetensors(os.path.join(folder, "model.safetensors"))
        self.embed = w["model.embed_tokens.weight"]
        self.lm_head = self.embed if c.get("tie_word_embeddings", False) else w["lm_head.weight"]
        self.norm = w["model.norm.weight"]
        self.blocks = []
        for layer in range(self.layers):
            p = f"model.layers.{layer}."
            self.blocks.append(
                {
                    "input_norm": w[p + "input_layernorm.weight"],
                    "post_norm": w[p + "post_attention_layernorm.weight"],
                    # Qwen2: q/k/v have biases, o_proj has none
                    "q": (w[p + "self_attn.q_proj.weight"], w[p + "self_attn.q_proj.bias"]),
                    "k": (w[p + "self_attn.k_proj.weight"], w[p + "self_attn.k_proj.bias"]),
                    "v": (w[p + "self_attn.v_proj.weight"], w[p + "self_attn.v_proj.bias"]),
                    "o": w[p + "self_attn.o_proj.weight"],
                    "gate": w[p + "mlp.gate_proj.weight"],
                    "up": w[p + "mlp.up_proj.weight"],
                    "down": w[p + "mlp.down_proj.weight"],
                }
            )
        # inv_freq[i] = 1 / theta^(2i/d), each exponent and power rounded to float32 as transformers
        # (and src/model/rope.ts) compute it.
        dim = self.head_dim
        exponents = (torch.arange(0, dim, 2, dtype=torch.float64) / dim).float().double()
        powers = (self.theta**exponents).float().double()
        self.inv_freq = (1.0 / powers).float()  # [D/2]

    @staticmethod
    def rms_norm(x, weight, eps):
        # Hugging Face's Qwen2RMSNorm: in float32, then back to x's dtype, times the weight.
        x32 = x.to(torch.float32)
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)
        return weight * normed.to(x.dtype)

    def rope_cos_sin(self, position_ids):
        angles = position_ids.float().unsqueeze(-1) * self.inv_freq  # [B, T, D/2]
        emb = torch.cat([angles, angles], -1).unsqueeze(1)  # [B, 1, T, D]
        return emb.cos(), emb.sin()

    @staticmethod
    def apply_rope(x, cos, sin):
        half = x.shape[-1] // 2
        x1, x2 = x[..., :half], x[..., half:]
        rotated = torch.cat([-x2, x1], -1)  # rotate_half
        return x * cos + rotated * sin

    def forward(self, input_ids, attention_mask, cache):
        """input_ids [B, T], attention_mask [B, past + T] (1 real, 0 padding) -> logits [B, T, V]."""
        batch, time = input_ids.shape
        past = cache.length
        keys = past + time
        # positions: real tokens count 0, 1, 2, ... from the first real one; padding gets 1
        real = attention_mask.ne(0)
        positions = real.long().cumsum(-1).sub(1).masked_fill(real.logical_not(), 1).narrow(1, past, time)
        cos, sin = self.rope_cos_sin(positions)
        # additive mask [B, 1, T, Tk]: causal over the cached + new positions, and no padded key
        query_index = torch.arange(past, keys).unsqueeze(1)
        key_index = torch.arange(0, keys).unsqueeze(0)
        allowed = key_index.le(query_index).unsqueeze(0).unsqueeze(0)
        allowed = allowed.logical_and(real.view(batch, 1, 1, keys))
        mask = torch.zeros(batch, 1, time, keys).masked_fill(allowed.logical_not(), MOST_NEGATIVE)

        H, Hkv, D = self.heads, self.kv_heads, self.head_dim
        groups = H // Hkv
        h = F.embedding(input_ids, self.embed)  # [B, T, d]
        for layer, blk in enumerate(self.blocks):
            x = self.rms_norm(h, blk["input_norm"], self.eps)
            q = F.linear(x, *blk["q"]).view(batch, time, H, D).transpose(1, 2)
            k = F.linear(x, *blk["k"]).view(batch, time, Hkv, D).transpose(1, 2)
            v = F.linear(x, *blk["v"]).view(batch, time, Hkv, D).transpose(1, 2)
            q = self.apply_rope(q, cos, sin)
            k = self.apply_rope(k, cos, sin)
            k, v = cache.update(layer, k, v)  # [B, Hkv, past + T, D]
            if groups > 1:
                k = k.repeat_interleave(groups, 1)  # head h reads kv head h // groups
                v = v.repeat_interleave(groups, 1)
            a = F._scaled_dot_product_attention(q, k, v, mask, 0.0, False, False)[0]  # [B, H, T, D]
            a = a.transpose(1, 2).reshape(batch, time, H * D)
            h = h + F.linear(a, blk["o"])
            x = self.rms_norm(h, blk["post_norm"], self.eps)
            h = h + F.linear(F.silu(F.linear(x, blk["gate"])) * F.linear(x, blk["up"]), blk["down"])
        cache.advance(time)
        return F.linear(self.rms_norm(h, self.norm, self.eps), self.lm_head)


class KVCache:
    """Preallocated keys and values [B, Hkv, max_len, D] per layer, written in place (as src/model/kv-cache.ts)."""

    def __init__(self, model, batch, max_len):
        shape = (batch, model.kv_heads, max_len, model.head_dim)
        self.keys = [torch.zeros(shape) for _ in range(model.layers)]
        self.values = [torch.zeros(shape) for _ in range(model.layers)]
        self.length = 0

    def update(self, layer, k, v):
        t = k.shape[2]
        keys, values = self.keys[layer], self.values[layer]
        keys.narrow(2, self.length, t).copy_(k)
        values.narrow(2, self.length, t).copy_(v)
        return keys.narrow(2, 0, self.length + t), values.narrow(2, 0, self.length + t)

    def advance(self, t):
        self.length += t


MODEL = None
PAD_ID = 0


def left_pad(prompts):
    length = max(len(p) for p in prompts)
    ids = torch.tensor([[PAD_ID] * (length - len(p)) + p for p in prompts], dtype=torch.int64)
    mask = torch.tensor([[0] * (length - len(p)) + [1] * len(p) for p in prompts], dtype=torch.int64)
    return ids, mask


def prefill(prompts, reps):
    """Milliseconds per forward of the whole left-padded prompt batch into a fresh cache (no sampling)."""
    ids, mask = left_pad(prompts)
    total = 0
    with torch.no_grad():
        for _ in range(reps):
            cache = KVCache(MODEL, ids.shape[0], ids.shape[1])
            start = now_ns()
            logits = MODEL.forward(ids, mask, cache)
            total += now_ns() - start
            del logits, cache
    return {"ms_per_forward": total / reps / 1e6}


def generate(prompts, max_new_tokens, temperature, seed, return_tokens):
    """generate()'s loop, EOS disabled: every row decodes max_new_tokens tokens. Times the whole call and
    the end of the prompt forward, as the TS side does."""
    model = MODEL
    vocab = model.vocab
    log_v = math.log(vocab)
    generator = torch.Generator().manual_seed(seed)
    batch = len(prompts)
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
            input_ids = torch.tensor([[t] for t in chosen], dtype=torch.int64)
            mask = torch.cat([mask, torch.ones_like(input_ids)], 1)
        del cache
    end = now_ns()
    out = {"total_ms": (end - start) / 1e6, "decode_ms": (end - prefill_end) / 1e6, "prefill_ms": (prefill_end - start) / 1e6}
    if return_tokens:
        out["tokens"] = tokens
        out["stats"] = [[[s["logprob"], s["entropy"], s["selfCertainty"]] for s in row] for row in stats]
    return out


def load(command):
    global MODEL, PAD_ID
    start = now_ns()
    MODEL = Qwen2(command["dir"])
    PAD_ID = command["pad_id"]
    return {"ms": (now_ns() - start) / 1e6}


def main():
    serve(
        {
            "info": lambda c: harness.info(c, python=sys.version.split()[0]),
            "load": load,
            "prefill": lambda c: prefill(c["prompts"], c["reps"]),
            "generate": lambda c: generate(c["prompts"], c["max_new_tokens"], c["temperature"], c["seed"], c["return_tokens"]),
        }
    )


if __name__ == "__main__":
    main()
