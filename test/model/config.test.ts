// config.json parsing: every field that changes the computation, and errors that name the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadModelConfig, parseModelConfig } from '../../src/model/config.ts';
import { expectedParameters } from '../../src/model/parameters.ts';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

const base = { model_type: 'llama', vocab_size: 100, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 4 };

test('the Qwen2 fixture: biases, tied head, merged eos ids from generation_config.json', () => {
  const c = loadModelConfig(`${fixtures}qwen2-tiny`);
  assert.equal(c.modelType, 'qwen2');
  assert.deepEqual([c.vocabSize, c.hiddenSize, c.intermediateSize, c.numHiddenLayers], [151936, 32, 96, 2]);
  assert.deepEqual([c.numAttentionHeads, c.numKeyValueHeads, c.headDim], [4, 2, 8]);
  assert.equal(c.ropeTheta, 1e6);
  assert.deepEqual(c.ropeScaling, { type: 'none' });
  assert.equal(c.attentionBias, true);
  assert.equal(c.tieWordEmbeddings, true);
  assert.deepEqual(c.eosTokenIds, [151645, 151643]);
  assert.equal(c.padTokenId, 151643);
  assert.equal(c.slidingWindow, undefined);
  assert.equal(expectedParameters(c).has('lm_head.weight'), false);
  assert.deepEqual(expectedParameters(c).get('model.layers.1.self_attn.k_proj.bias'), [16]);
});

test('the Llama fixture: llama3 rope scaling, untied head, bf16 weights, no biases', () => {
  const c = loadModelConfig(`${fixtures}llama-tiny`);
  assert.equal(c.modelType, 'llama');
  assert.deepEqual(c.ropeScaling, { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 });
  assert.equal(c.numKeyValueHeads, 1);
  assert.equal(c.attentionBias, false);
  assert.equal(c.tieWordEmbeddings, false);
  assert.equal(c.torchDtype, 'bfloat16');
  assert.deepEqual(c.eosTokenIds, [128001]);
  assert.deepEqual(expectedParameters(c).get('lm_head.weight'), [128256, 32]);
});

test('derived and model-specific fields', () => {
  assert.equal(parseModelConfig(base).headDim, 4, 'head_dim derived from hidden_size / heads');
  assert.equal(parseModelConfig(base).numKeyValueHeads, 4, 'kv heads default to heads');
  const qwen3 = parseModelConfig({ ...base, model_type: 'qwen3', head_dim: 8, num_key_value_heads: 2 });
  assert.equal(qwen3.qkNorm, true);
  assert.equal(qwen3.attentionBias, false);
  assert.deepEqual(expectedParameters(qwen3).get('model.layers.0.self_attn.q_norm.weight'), [8]);
  assert.deepEqual(expectedParameters(qwen3).get('model.layers.0.self_attn.q_proj.weight'), [32, 16]);
  const mistral = parseModelConfig({ ...base, model_type: 'mistral', sliding_window: 4096 });
  assert.equal(mistral.slidingWindow, 4096);
  const llamaBias = parseModelConfig({ ...base, attention_bias: true, mlp_bias: true });
  assert.deepEqual(expectedParameters(llamaBias).get('model.layers.0.self_attn.o_proj.bias'), [16]);
  assert.deepEqual(expectedParameters(llamaBias).get('model.layers.0.mlp.down_proj.bias'), [16]);
  assert.deepEqual(parseModelConfig({ ...base, rope_scaling: { type: 'linear', factor: 2 } }).ropeScaling, { type: 'linear', factor: 2 });
  const yarn = parseModelConfig({ ...base, rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32 } }).ropeScaling;
  assert.deepEqual(yarn, { type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 32, betaFast: 32, betaSlow: 1, attentionFactor: undefined });
  const g = parseModelConfig(base, { eos_token_id: [7, 8], temperature: 0.6, top_p: 0.95, top_k: 20 });
  assert.deepEqual(g.eosTokenIds, [7, 8]);
  assert.deepEqual(g.generationDefaults, { temperature: 0.6, topP: 0.95, topK: 20 });
});

test('bad configs name the file and the field', () => {
  assert.throws(() => parseModelConfig({ ...base, model_type: 'gpt2' }), { message: 'config.json: model_type "gpt2" is not supported; supported: qwen2, qwen3, llama, mistral' });
  const { hidden_size: _h, ...noHidden } = base;
  assert.throws(() => parseModelConfig(noHidden), { message: 'config.json: field "hidden_size" must be an integer >= 1, found nothing' });
  assert.throws(() => parseModelConfig({ ...base, vocab_size: '100' }), { message: 'config.json: field "vocab_size" must be an integer >= 1, found "100"' });
  assert.throws(() => parseModelConfig({ ...base, num_key_value_heads: 3 }), /num_attention_heads \(4\) must be a multiple of num_key_value_heads \(3\)/);
  assert.throws(() => parseModelConfig({ ...base, hidden_size: 18 }), /hidden_size \(18\) is not divisible by num_attention_heads \(4\)/);
  assert.throws(() => parseModelConfig({ ...base, rope_scaling: { type: 'dynamic', factor: 2 } }), /rope_scaling type "dynamic" is not supported/);
  assert.throws(() => parseModelConfig({ ...base, rope_scaling: { rope_type: 'llama3', factor: 8 } }), /rope_scaling: field "low_freq_factor" must be a positive number, found nothing/);
  assert.throws(() => parseModelConfig({ ...base, hidden_act: 'gelu' }), /hidden_act "gelu" is not supported/);
  assert.throws(() => parseModelConfig({ ...base, torch_dtype: 'int8' }), /torch_dtype "int8" is not supported/);
  assert.throws(() => parseModelConfig(base, { eos_token_id: 'x' }), { message: 'generation_config.json: field "eos_token_id" must be a token id or a list of token ids, found "x"' });
  assert.throws(() => loadModelConfig('/nonexistent-folder'), /\/nonexistent-folder is not a Hugging Face model folder: it has no config.json/);
});
