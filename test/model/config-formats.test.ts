// config.json as transformers 4.x and 5.x write it: the same model read from either spelling
// (rope_theta + rope_scaling vs rope_parameters, torch_dtype vs dtype, layer_types), the llama-tiny
// fixture rewritten in the transformers 5 shape giving the fixture's logits, and the configs that
// must be refused with the fields named: spellings that disagree, rope types the decoder does not
// implement, per-layer attention it cannot run. Saving keeps the file's own spelling of dtype.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/torch/index.ts';
import { parseModelConfig, type ModelConfig } from '../../src/model/config.ts';
import { loadModel, saveModel } from '../../src/model/load.ts';
import { openCheckpoint } from '../../src/model/safetensors.ts';
import { savedConfigs, type SavedConfigName } from '../helpers/saved-configs.ts';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const v4 = savedConfigs['4.57.6'];
const v5 = savedConfigs['5.18.0'];
const withoutRaw = (c: ModelConfig) => ({ ...c, raw: null });

const readable: SavedConfigName[] = ['qwen2', 'qwen2-sliding-all', 'qwen3-yarn', 'llama-linear', 'mistral', 'llama-tiny'];

test('each config reads the same from transformers 4.57 and 5.18 files', () => {
  for (const name of readable) {
    assert.deepEqual(withoutRaw(parseModelConfig(v5[name])), withoutRaw(parseModelConfig(v4[name])), name);
  }
  // and the fixture's own config.json, as transformers 4.45.1 wrote it (torch_dtype, no layer_types)
  const fixture = JSON.parse(readFileSync(join(fixtures, 'llama-tiny', 'config.json'), 'utf8'));
  assert.deepEqual(withoutRaw(parseModelConfig(v5['llama-tiny'])), withoutRaw(parseModelConfig(fixture)));
});

test('the values behind each spelling', () => {
  const qwen2 = parseModelConfig(v5.qwen2);
  assert.deepEqual([qwen2.ropeTheta, qwen2.ropeScaling, qwen2.torchDtype, qwen2.slidingWindow, qwen2.tieWordEmbeddings], [1e6, { type: 'none' }, 'bfloat16', undefined, true]);
  assert.equal(parseModelConfig(v5['qwen2-sliding-all']).slidingWindow, 16, 'layer_types all sliding_attention');
  const qwen3 = parseModelConfig(v5['qwen3-yarn']);
  assert.equal(qwen3.headDim, 16);
  assert.equal(qwen3.ropeTheta, 1e6);
  assert.deepEqual(qwen3.ropeScaling, { type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 128, betaFast: 32, betaSlow: 1, attentionFactor: undefined });
  assert.deepEqual(parseModelConfig(v5['llama-linear']).ropeScaling, { type: 'linear', factor: 2 });
  assert.equal(parseModelConfig(v5['llama-linear']).torchDtype, 'float16');
  const mistral = parseModelConfig(v5.mistral);
  assert.deepEqual([mistral.slidingWindow, mistral.ropeTheta, mistral.attentionBias], [64, 1e6, false]);
  const llama = parseModelConfig(v5['llama-tiny']);
  assert.equal(llama.ropeTheta, 5e5);
  assert.deepEqual(llama.ropeScaling, { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 });
});

test('the llama-tiny fixture with its config in the transformers 5 shape gives the same logits', () => {
  const work = mkdtempSync(join(tmpdir(), 'intuitor-config-v5-'));
  try {
    const source = join(fixtures, 'llama-tiny');
    const copy = join(work, 'llama-tiny');
    cpSync(source, copy, { recursive: true });
    writeFileSync(join(copy, 'config.json'), JSON.stringify(v5['llama-tiny'], null, 2));
    const defaultRope = join(work, 'default-rope');
    cpSync(source, defaultRope, { recursive: true });
    writeFileSync(join(defaultRope, 'config.json'), JSON.stringify({ ...v5['llama-tiny'], rope_parameters: { rope_theta: 10000.0, rope_type: 'default' } }, null, 2));

    const golden = JSON.parse(readFileSync(join(source, 'golden.json'), 'utf8')) as { cases: { name: string; input_ids: number[][] }[] };
    const seq33 = golden.cases.find((c) => c.name === 'seq33')!;
    const goldenLogits = openCheckpoint(join(source, 'golden_logits.safetensors'));
    const [original, rewritten, wrongRope] = [source, copy, defaultRope].map((dir) => loadModel(dir));
    try {
      torch.noGrad(() =>
        torch.scope(() => {
          const ids = torch.tensor(seq33.input_ids, { dtype: 'int64' });
          const want = original!.forward(ids);
          const got = rewritten!.forward(ids);
          assert.equal(got.sub(want).abs().max().item(), 0, 'bit-identical to the transformers 4 config');
          const last2 = got.narrow(1, got.size(1) - 2, 2);
          assert.ok(last2.sub(goldenLogits.load('seq33')).abs().max().item() <= 1e-4, "within 1e-4 of transformers' golden logits");
          // The rotary settings matter on this input: the loader that ignored rope_parameters was wrong.
          assert.ok(wrongRope!.forward(ids).sub(want).abs().max().item() > 1e-3, 'default rope gives other logits');
        }),
      );
      // Saved again (float32), the config keeps its "dtype" spelling and adds no "torch_dtype" beside it.
      saveModel(rewritten!, join(work, 'saved'), { dtype: 'float32' });
      const saved = JSON.parse(readFileSync(join(work, 'saved', 'config.json'), 'utf8'));
      assert.deepEqual([saved.dtype, 'torch_dtype' in saved, saved.rope_parameters], ['float32', false, v5['llama-tiny'].rope_parameters]);
      loadModel(join(work, 'saved')).dispose();
    } finally {
      for (const m of [original, rewritten, wrongRope]) m!.dispose();
      goldenLogits.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('two spellings of one setting that disagree are refused, naming both fields', () => {
  const llama = v5['llama-tiny'];
  assert.throws(() => parseModelConfig({ ...llama, rope_theta: 10000 }), {
    message: 'config.json: "rope_parameters.rope_theta" (500000) and "rope_theta" (10000) disagree; keep one of them',
  });
  assert.throws(() => parseModelConfig({ ...llama, rope_scaling: { rope_type: 'llama3', factor: 4, low_freq_factor: 1, high_freq_factor: 4 } }), {
    message: 'config.json: "rope_parameters.factor" (8) and "rope_scaling.factor" (4) disagree; keep one of them',
  });
  assert.throws(() => parseModelConfig({ ...llama, rope_scaling: { type: 'linear', factor: 8 } }), /"rope_parameters.rope_type" \("llama3"\) and "rope_scaling.type" \("linear"\) disagree/);
  assert.throws(() => parseModelConfig({ ...v4['llama-tiny'], original_max_position_embeddings: 8192 }), /"rope_scaling.original_max_position_embeddings" \(64\) and "original_max_position_embeddings" \(8192\) disagree/);
  assert.throws(() => parseModelConfig({ ...llama, torch_dtype: 'float32' }), {
    message: 'config.json: "dtype" ("bfloat16") and "torch_dtype" ("float32") disagree; keep one of them',
  });
  // The same setting spelled twice alike is fine (a 4.x config edited into the 5.x shape).
  const both = parseModelConfig({ ...llama, rope_theta: 500000, rope_scaling: v4['llama-tiny'].rope_scaling, torch_dtype: 'bfloat16' });
  assert.deepEqual(withoutRaw(both), withoutRaw(parseModelConfig(llama)));
});

test('rope types the decoder does not implement are refused with the field named', () => {
  assert.throws(() => parseModelConfig(v5['llama-dynamic']), /^Error: config.json: rope_parameters type "dynamic" is not supported \(dynamic NTK .*\); supported: default, linear, llama3, yarn$/);
  assert.throws(() => parseModelConfig(v4['llama-dynamic']), /config.json: rope_scaling type "dynamic" is not supported/);
  const longrope = { ...v5.qwen2, rope_parameters: { rope_type: 'longrope', rope_theta: 1e4, short_factor: [1, 1], long_factor: [2, 2] } };
  assert.throws(() => parseModelConfig(longrope), /rope_parameters type "longrope" is not supported \(LongRoPE/);
  assert.throws(() => parseModelConfig({ ...v5.qwen2, rope_parameters: { rope_type: 'ntk-by-parts', rope_theta: 1e4 } }), /rope_parameters type "ntk-by-parts" is not supported; supported/);
  assert.throws(() => parseModelConfig({ ...v5.qwen2, partial_rotary_factor: 0.5 }), /"partial_rotary_factor" 0.5 is not supported: this decoder rotates the whole head/);
  assert.throws(() => parseModelConfig({ ...v5.qwen2, rope_parameters: { rope_type: 'linear', rope_theta: 1e4 } }), /config.json rope_parameters: field "factor" must be a positive number, found nothing/);
  assert.throws(() => parseModelConfig({ ...v5.qwen2, rope_parameters: { rope_type: 'default', rope_theta: '1e4' } }), /field "rope_parameters.rope_theta" must be a positive number, found "1e4"/);
});

test('rope parameters filled in as transformers 5 does: original context, yarn factor, nested per layer type', () => {
  // llama3 without original_max_position_embeddings: max_position_embeddings (standardize_rope_params)
  const { original_max_position_embeddings: _o, ...llama3 } = v5['llama-tiny'].rope_parameters as Record<string, unknown>;
  const scaling = parseModelConfig({ ...v5['llama-tiny'], rope_parameters: llama3 }).ropeScaling;
  assert.equal(scaling.type === 'llama3' && scaling.originalMaxPositionEmbeddings, 512);
  // yarn without factor: max_position_embeddings / original_max_position_embeddings
  const yarn = { rope_type: 'yarn', rope_theta: 1e6, original_max_position_embeddings: 128 };
  const noFactor = parseModelConfig({ ...v5['qwen3-yarn'], rope_parameters: yarn }).ropeScaling;
  assert.equal(noFactor.type === 'yarn' && noFactor.factor, 4);
  // yarn's optional truncate and DeepSeek-style mscale pair
  const extras = parseModelConfig({ ...v5['qwen3-yarn'], rope_parameters: { ...yarn, factor: 4, truncate: false, mscale: 1, mscale_all_dim: 0.5 } }).ropeScaling;
  assert.ok(extras.type === 'yarn');
  assert.equal(extras.truncate, false);
  assert.ok(Math.abs(extras.attentionFactor! - (0.1 * Math.log(4) + 1) / (0.05 * Math.log(4) + 1)) < 1e-12);
  // one rope dict per layer type: accepted when all layer types agree, refused otherwise
  const perType = { full_attention: { rope_type: 'default', rope_theta: 1e6 }, sliding_attention: { rope_type: 'default', rope_theta: 1e6 } };
  assert.equal(parseModelConfig({ ...v5.qwen2, rope_parameters: perType }).ropeTheta, 1e6);
  const differing = { ...perType, sliding_attention: { rope_type: 'default', rope_theta: 1e4 } };
  assert.throws(() => parseModelConfig({ ...v5['qwen2-sliding-all'], layer_types: ['full_attention', 'sliding_attention'], rope_parameters: differing }), /rope_parameters differ between layer types/);
});

test('attention per layer: one window for all layers or none; a mix is refused', () => {
  assert.throws(() => parseModelConfig(v5['qwen2-sliding-mixed']), {
    message: 'config.json: field "layer_types" gives sliding-window attention to layers 1 only; this decoder applies one attention span to every layer',
  });
  // without layer_types (transformers before 4.53), derived from max_window_layers as transformers does
  const { layer_types: _l, ...old } = v4['qwen2-sliding-mixed'];
  assert.throws(() => parseModelConfig(old), /field "max_window_layers" gives sliding-window attention to layers 1 only/);
  assert.equal(parseModelConfig({ ...old, max_window_layers: 0 }).slidingWindow, 16);
  assert.equal(parseModelConfig({ ...old, max_window_layers: 28 }).slidingWindow, undefined, 'max_window_layers >= num_hidden_layers: no layer slides');
  assert.equal(parseModelConfig({ ...v5['qwen2-sliding-all'], use_sliding_window: false }).slidingWindow, undefined, 'a sliding_attention layer without a window attends fully');
  assert.throws(() => parseModelConfig({ ...v5.qwen2, layer_types: ['full_attention'] }), /field "layer_types" must be a list of 2 \(num_hidden_layers\) entries/);
  // Mistral: sliding_window absent -> the class default 4096; null -> none
  const { sliding_window: _s, ...mistral } = v5.mistral;
  assert.equal(parseModelConfig(mistral).slidingWindow, 4096);
  assert.equal(parseModelConfig({ ...mistral, sliding_window: null }).slidingWindow, undefined);
});

test('fields left out take the defaults of transformers config classes', () => {
  const { head_dim: _h, ...qwen3 } = v5['qwen3-yarn'];
  assert.equal(parseModelConfig(qwen3).headDim, 128, 'Qwen3Config.head_dim');
  const { max_position_embeddings: _m, ...llama } = v5['llama-linear'];
  assert.equal(parseModelConfig(llama).maxPositionEmbeddings, 2048, 'LlamaConfig.max_position_embeddings');
  const { dtype: _d, ...noDtype } = v5.qwen2;
  assert.equal(parseModelConfig(noDtype).torchDtype, 'float32');
  const biased = parseModelConfig({ ...v5['qwen3-yarn'], attention_bias: true });
  assert.deepEqual([biased.attentionBias, biased.outputBias], [true, true], "Qwen3's attention_bias covers o_proj");
});
