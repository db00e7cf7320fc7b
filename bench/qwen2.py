"""The plain-PyTorch Qwen2 decoder shared by the bench/*.py baselines (bench/generate.py, bench/train.py):
a small safetensors reader, the decoder as Hugging Face transformers computes it (eager attention, float32),
and a preallocated KV cache as src/model/kv-cache.ts. See bench/README.md."""

import json
import math
import os
import sys

import torch
import torch.nn.functional as F


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

if hasattr(F, "scaled_dot_product_attention"):
    # torch >= 2.0: the public kernel, which intuitor's scaledDotProductAttention also calls there
    # (for square attention; its decode steps use matmul + softmax).
    def attention(q, k, v, mask):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

else:
    # torch 1.13: the private kernel intuitor's scaledDotProductAttention calls when given a mask.
    def attention(q, k, v, mask):
        return F._scaled_dot_product_attention(q, k, v, mask, 0.0, False, False)[0]


class Qwen2:
    """Qwen2's decoder as Hugging Face transformers computes it (eager attention), float32, on `device`."""

    def __init__(self, folder, device="cpu"):
        self.device = torch.device(device)
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
        w = {name: t.to(self.device) for name, t in read_safetensors(os.path.join(folder, "model.safetensors")).items()}
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
        self.inv_freq = (1.0 / powers).float().to(self.device)  # [D/2]

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

    def forward(self, input_ids, attention_mask, cache, output="logits"):
        """input_ids [B, T], attention_mask [B, past + T] (1 real, 0 padding) -> logits [B, T, V], or with
        output="hidden" the final-normed hidden states [B, T, d]. cache None: no cache (past 0), the
        keys and values of this forward only, as src/model/causal-lm.ts without a cache."""
        batch, time = input_ids.shape
        past = 0 if cache is None else cache.length
        keys = past + time
        # positions: real tokens count 0, 1, 2, ... from the first real one; padding gets 1
        real = attention_mask.ne(0)
        positions = real.long().cumsum(-1).sub(1).masked_fill(real.logical_not(), 1).narrow(1, past, time)
        cos, sin = self.rope_cos_sin(positions)
        # additive mask [B, 1, T, Tk]: causal over the cached + new positions, and no padded key
        query_index = torch.arange(past, keys, device=self.device).unsqueeze(1)
        key_index = torch.arange(0, keys, device=self.device).unsqueeze(0)
        allowed = key_index.le(query_index).unsqueeze(0).unsqueeze(0)
        allowed = allowed.logical_and(real.view(batch, 1, 1, keys))
        mask = torch.zeros(batch, 1, time, keys, device=self.device).masked_fill(allowed.logical_not(), MOST_NEGATIVE)

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
            if cache is not None:
                k, v = cache.update(layer, k, v)  # [B, Hkv, past + T, D]
            if groups > 1:
                k = k.repeat_interleave(groups, 1)  # head h reads kv head h // groups
                v = v.repeat_interleave(groups, 1)
            a = attention(q, k, v, mask)  # [B, H, T, D]
            a = a.transpose(1, 2).reshape(batch, time, H * D)
            h = h + F.linear(a, blk["o"])
            x = self.rms_norm(h, blk["post_norm"], self.eps)
            h = h + F.linear(F.silu(F.linear(x, blk["gate"])) * F.linear(x, blk["up"]), blk["down"])
        if cache is not None:
            cache.advance(time)
        hidden = self.rms_norm(h, self.norm, self.eps)
        return hidden if output == "hidden" else F.linear(hidden, self.lm_head)

    def parameters(self):
        """Every distinct weight tensor (the tied embedding once)."""
        out = [self.embed, self.norm] + ([] if self.lm_head is self.embed else [self.lm_head])
        for blk in self.blocks:
            for value in blk.values():
                out.extend(value if isinstance(value, tuple) else [value])
        return out


class KVCache:
    """Preallocated keys and values [B, Hkv, max_len, D] per layer, written in place (as src/model/kv-cache.ts)."""

    def __init__(self, model, batch, max_len):
        shape = (batch, model.kv_heads, max_len, model.head_dim)
        self.keys = [torch.zeros(shape, device=model.device) for _ in range(model.layers)]
        self.values = [torch.zeros(shape, device=model.device) for _ in range(model.layers)]
        self.length = 0

    def update(self, layer, k, v):
        t = k.shape[2]
        keys, values = self.keys[layer], self.values[layer]
        keys.narrow(2, self.length, t).copy_(k)
        values.narrow(2, self.length, t).copy_(v)
        return keys.narrow(2, 0, self.length + t), values.narrow(2, 0, self.length + t)

    def advance(self, t):
        self.length += t
