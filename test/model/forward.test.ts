// Parity with Hugging Face transformers on the golden fixtures (DESIGN: fp32 logits within 1e-4,
// greedy tokens identical), KV-cache decoding, batching, bfloat16 compute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/torch/index.ts';
import { loadModel } from '../../src/model/load.ts';
import { KVCache } from '../../src/model/kv-cache.ts';
import { openCheckpoint } from '../../src/model/safetensors.ts';
import { generate } from '../../src/generate/generate.ts';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const LOGIT_TOLERANCE = 1e-4; // the fixtures' README: atol 1e-4 on logits, logsumexp, mean, max
const CERTAINTY_TOLERANCE = 5e-6; // self-certainty is ~0.015; float32 logsumexp over 150k logits rounds to ~1e-6

interface GoldenCase {
  name: string;
  input_ids: number[][];
  attention_mask: number[][];
  position_ids: number[][];
  per_position: Record<'logsumexp' | 'mean' | 'max' | 'argmax' | 'self_certainty', number[][]>;
}

for (const fixture of ['qwen2-tiny', 'llama-tiny']) {
  const dir = `${fixtures}${fixture}`;
  const golden = JSON.parse(readFileSync(`${dir}/golden.json`, 'utf8'));

  test(`${fixture}: logits and per-position statistics match transformers on every case`, () => {
    const model = loadModel(dir);
    const goldenLogits = openCheckpoint(`${dir}/golden_logits.safetensors`);
    try {
      for (const c of golden.cases as GoldenCase[]) {
        torch.noGrad(() =>
          torch.scope(() => {
            const ids = torch.tensor(c.input_ids, { dtype: 'int64' });
            const mask = torch.tensor(c.attention_mask, { dtype: 'int64' });
            const logits = model.forward(ids, { attentionMask: mask }); // [B, T, V], positions derived from the mask
            const [batch, time] = ids.shape as [number, number];
            const last2Error = logits.narrow(1, time - 2, 2).sub(goldenLogits.load(c.name)).abs().max().item();
            assert.ok(last2Error <= LOGIT_TOLERANCE, `${c.name}: max |logit error| ${last2Error}`);
            const z = logits.double();
            const stats = {
              logsumexp: z.logsumexp(-1).toFloat64Array(),
              mean: z.mean(-1).toFloat64Array(),
              max: z.amax(-1).toFloat64Array(),
              argmax: z.argmax(-1).toFloat64Array(),
              self_certainty: z.logsumexp(-1).sub(z.mean(-1)).sub(Math.log(z.size(-1))).toFloat64Array(),
            };
            for (let b = 0; b < batch; b++) {
              for (let t = 0; t < time; t++) {
                if (c.attention_mask[b]![t] === 0) continue; // padded queries are implementation-specific
                const i = b * time + t;
                for (const key of ['logsumexp', 'mean', 'max'] as const) {
                  const error = Math.abs(stats[key][i]! - c.per_position[key][b]![t]!);
                  assert.ok(error <= LOGIT_TOLERANCE, `${c.name} [${b}, ${t}] ${key}: error ${error}`);
                }
                assert.equal(stats.argmax[i], c.per_position.argmax[b]![t], `${c.name} [${b}, ${t}] argmax`);
                const error = Math.abs(stats.self_certainty[i]! - c.per_position.self_certainty[b]![t]!);
                assert.ok(error <= CERTAINTY_TOLERANCE, `${c.name} [${b}, ${t}] self-certainty error ${error}`);
              }
            }
          }),
        );
      }
    } finally {
      goldenLogits.close();
      model.dispose();
    }
  });

  test(`${fixture}: explicit position ids give the same logits as positions derived from the mask`, () => {
    const model = loadModel(dir);
    const c = (golden.cases as GoldenCase[]).find((x) => x.name === 'batch_left_padded')!;
    torch.noGrad(() =>
      torch.scope(() => {
        const ids = torch.tensor(c.input_ids, { dtype: 'int64' });
        const attentionMask = torch.tensor(c.attention_mask, { dtype: 'int64' });
        const derived = model.forward(ids, { attentionMask });
        const explicit = model.forward(ids, { attentionMask, positionIds: torch.tensor(c.position_ids, { dtype: 'int64' }) });
        assert.equal(derived.sub(explicit).abs().max().item(), 0);
      }),
    );
    model.dispose();
  });

  test(`${fixture}: greedy generation with the KV cache reproduces transformers' 16 tokens and per-step statistics`, async () => {
    const model = loadModel(dir);
    const g = golden.generation;
    const [out] = await generate(model, [g.prompt_ids], { maxNewTokens: g.max_new_tokens, temperature: 0, eosTokenIds: [] });
    assert.deepEqual(out!.tokenIds, g.new_tokens);
    assert.equal(out!.finishReason, 'length');
    out!.selfCertainties.forEach((v, i) => assert.ok(Math.abs(v - g.per_step.self_certainty[i]) <= CERTAINTY_TOLERANCE, `step ${i}: ${v} vs ${g.per_step.self_certainty[i]}`));
    // log p(argmax) = max - logsumexp, entropy is positive and below log V
    out!.logprobs.forEach((v, i) => assert.ok(Math.abs(v - (g.per_step.max[i] - g.per_step.logsumexp[i])) <= LOGIT_TOLERANCE, `step ${i} logprob ${v}`));
    out!.entropies.forEach((v) => assert.ok(v > 0 && v <= Math.log(golden.vocab_size) + 1e-6));
    model.dispose();
  });

  test(`${fixture}: decoding through the KV cache equals one full forward`, () => {
    const model = loadModel(dir);
    torch.noGrad(() =>
      torch.scope(() => {
        const ids = torch.tensor([golden.generation.sequence], { dtype: 'int64' });
        const full = model.forward(ids);
        const cache = new KVCache(model.config, { batchSize: 1, maxLength: ids.size(1), dtype: model.dtype });
        const parts = [model.forward(ids.narrow(1, 0, 9), { cache })];
        for (let t = 9; t < ids.size(1); t++) parts.push(model.forward(ids.narrow(1, t, 1), { cache }));
        const error = torch.cat(parts, 1).sub(full).abs().max().item();
        assert.ok(error <= 1e-5, `cache vs full: ${error}`);
        assert.throws(() => model.forward(ids.narrow(1, 0, 1), { cache }), /KVCache is full: 23 \+ 1 positions exceed maxLength 23/);
        cache.dispose();
      }),
    );
    model.dispose();
  });
}

test('a batch of prompts of different lengths decodes as each prompt alone (greedy)', async () => {
  const model = loadModel(`${fixtures}llama-tiny`);
  const prompts = [[128000, 15, 27, 900], [128000, 3000], [128000, 42, 43, 44, 45, 46, 47]];
  const batched = await generate(model, prompts, { maxNewTokens: 6, temperature: 0, eosTokenIds: [] });
  for (const [i, prompt] of prompts.entries()) {
    const [alone] = await generate(model, [prompt], { maxNewTokens: 6, temperature: 0, eosTokenIds: [] });
    assert.deepEqual(batched[i]!.tokenIds, alone!.tokenIds, `prompt ${i}`);
    batched[i]!.selfCertainties.forEach((v, t) => assert.ok(Math.abs(v - alone!.selfCertainties[t]!) <= 1e-5, `prompt ${i} step ${t}`));
  }
  model.dispose();
});

test('bfloat16 compute stays close to float32 and agrees on the greedy tokens', () => {
  const model32 = loadModel(`${fixtures}llama-tiny`);
  const model16 = loadModel(`${fixtures}llama-tiny`, { dtype: 'bfloat16' });
  assert.equal(model16.dtype, 'bfloat16');
  torch.noGrad(() =>
    torch.scope(() => {
      const ids = torch.tensor([[128000, 15, 27, 900, 4000, 12]], { dtype: 'int64' });
      const a = model32.forward(ids);
      const b = model16.forward(ids).float();
      const error = a.sub(b).abs().max().item();
      assert.ok(error < 0.05, `bf16 vs fp32 max |logit error| ${error} (logits are about +-1; bf16 keeps 8 bits)`);
    }),
  );
  model32.dispose();
  model16.dispose();
});
