// Hugging Face causal-LM configuration: config.json (+ generation_config.json) parsed into one
// typed, validated ModelConfig. Only the fields that change the computation are kept; every
// missing or ill-typed one is an error naming the file and the field.
//
// Supported model_type: qwen2 (Qwen2, Qwen2.5), qwen3, llama (Llama 2/3), mistral. They share one
// decoder; the differences are data: q/k/v biases (Qwen2), per-head q/k RMSNorm (Qwen3), rope
// scaling (Llama 3), sliding-window attention (Mistral).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const supportedModelTypes = ['qwen2', 'qwen3', 'llama', 'mistral'] as const;
export type ModelType = (typeof supportedModelTypes)[number];

export type RopeScaling =
  | { type: 'none' }
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number }
  | { type: 'yarn'; factor: number; originalMaxPositionEmbeddings: number; betaFast: number; betaSlow: number; attentionFactor: number | undefined };

export interface ModelConfig {
  modelType: ModelType;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** q/k/v projections have biases (always for Qwen2; attention_bias elsewhere) */
  attentionBias: boolean;
  /** the output projection has a bias too (Llama's attention_bias covers o_proj) */
  outputBias: boolean;
  mlpBias: boolean;
  /** Qwen3: RMSNorm over each head of q and k before rotary embeddings */
  qkNorm: boolean;
  /** attend to at most this many previous positions (Mistral; Qwen2 with use_sliding_window) */
  slidingWindow: number | undefined;
  /** the dtype the weights were saved in (torch_dtype) */
  torchDtype: 'float32' | 'bfloat16' | 'float16';
  bosTokenId: number | undefined;
  /** every id that ends a generation: config.json's and generation_config.json's, merged */
  eosTokenIds: number[];
  padTokenId: number | undefined;
  /** defaults for sampling from generation_config.json, where present */
  generationDefaults: { temperature?: number; topP?: number; topK?: number; maxNewTokens?: number };
  /** the parsed config.json, to write back unchanged when saving */
  raw: Record<string, unknown>;
}

type Json = Record<string, unknown>;

class Fields {
  constructor(
    private readonly json: Json,
    private readonly file: string,
  ) {}

  private fail(field: string, expected: string): never {
    const found = field in this.json ? JSON.stringify(this.json[field]) : 'nothing';
    throw new Error(`${this.file}: field "${field}" must be ${expected}, found ${found}`);
  }
  has(field: string): boolean {
    return this.json[field] !== undefined && this.json[field] !== null;
  }
  int(field: string, fallback?: number, min = 1): number {
    if (!this.has(field)) return fallback ?? this.fail(field, `an integer >= ${min}`);
    const v = this.json[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.fail(field, `an integer >= ${min}`);
    return v;
  }
  number(field: string, fallback?: number): number {
    if (!this.has(field)) return fallback ?? this.fail(field, 'a positive number');
    const v = this.json[field];
    if (typeof v !== 'number' || !(v > 0)) this.fail(field, 'a positive number');
    return v;
  }
  bool(field: string, fallback: boolean): boolean {
    if (!this.has(field)) return fallback;
    const v = this.json[field];
    if (typeof v !== 'boolean') this.fail(field, 'true or false');
    return v;
  }
  ids(field: string): number[] {
    if (!this.has(field)) return [];
    const v = this.json[field];
    const list = Array.isArray(v) ? v : [v];
    if (!list.every((id) => typeof id === 'number' && Number.isInteger(id) && id >= 0)) this.fail(field, 'a token id or a list of token ids');
    return list as number[];
  }
  optionalNumber(field: string): number | undefined {
    return this.has(field) ? this.number(field) : undefined;
  }
}

function readJson(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${path} must hold a JSON object`);
  return json as Json;
}

function parseRopeScaling(raw: unknown, file: string, maxPositionEmbeddings: number): RopeScaling {
  if (raw === undefined || raw === null) return { type: 'none' };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${file}: field "rope_scaling" must be an object or null`);
  const scaling = new Fields(raw as Json, `${file} rope_scaling`);
  const kind = (raw as Json).rope_type ?? (raw as Json).type;
  switch (kind) {
    case 'default':
      return { type: 'none' };
    case 'linear':
      return { type: 'linear', factor: scaling.number('factor') };
    case 'llama3':
      return {
        type: 'llama3',
        factor: scaling.number('factor'),
        lowFreqFactor: scaling.number('low_freq_factor'),
        highFreqFactor: scaling.number('high_freq_factor'),
        originalMaxPositionEmbeddings: scaling.int('original_max_position_embeddings'),
      };
    case 'yarn':
      return {
        type: 'yarn',
        factor: scaling.number('factor'),
        originalMaxPositionEmbeddings: scaling.int('original_max_position_embeddings', maxPositionEmbeddings),
        betaFast: scaling.number('beta_fast', 32),
        betaSlow: scaling.number('beta_slow', 1),
        attentionFactor: scaling.optionalNumber('attention_factor'),
      };
    default:
      throw new Error(`${file}: rope_scaling type ${JSON.stringify(kind)} is not supported; supported: default, linear, llama3, yarn`);
  }
}

/** Parses config.json (and generation_config.json beside it, if any) from a model folder. */
export function loadModelConfig(dir: string): ModelConfig {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new Error(`${dir} is not a Hugging Face model folder: it has no config.json`);
  const raw = readJson(configPath);
  const generationPath = join(dir, 'generation_config.json');
  const generation = existsSync(generationPath) ? readJson(generationPath) : {};
  return parseModelConfig(raw, generation, configPath, generationPath);
}

/** Parses the JSON objects of config.json and generation_config.json ({} when absent). */
export function parseModelConfig(raw: Json, generation: Json = {}, file = 'config.json', generationFile = 'generation_config.json'): ModelConfig {
  const f = new Fields(raw, file);
  const modelType = raw.model_type;
  if (!supportedModelTypes.includes(modelType as ModelType)) {
    throw new Error(`${file}: model_type ${JSON.stringify(modelType)} is not supported; supported: ${supportedModelTypes.join(', ')}`);
  }
  const type = modelType as ModelType;
  const hiddenSize = f.int('hidden_size');
  const numAttentionHeads = f.int('num_attention_heads');
  const numKeyValueHeads = f.int('num_key_value_heads', numAttentionHeads);
  if (numAttentionHeads % numKeyValueHeads !== 0) {
    throw new Error(`${file}: num_attention_heads (${numAttentionHeads}) must be a multiple of num_key_value_heads (${numKeyValueHeads})`);
  }
  if (!f.has('head_dim') && hiddenSize % numAttentionHeads !== 0) {
    throw new Error(`${file}: hidden_size (${hiddenSize}) is not divisible by num_attention_heads (${numAttentionHeads}) and no head_dim is given`);
  }
  const headDim = f.int('head_dim', hiddenSize / numAttentionHeads);
  if (headDim % 2 !== 0) throw new Error(`${file}: head_dim must be even for rotary embeddings, found ${headDim}`);
  const hiddenAct = raw.hidden_act ?? 'silu';
  if (hiddenAct !== 'silu') throw new Error(`${file}: hidden_act ${JSON.stringify(hiddenAct)} is not supported; supported: silu`);
  const maxPositionEmbeddings = f.int('max_position_embeddings', 32768);
  const torchDtype = raw.torch_dtype ?? 'float32';
  if (torchDtype !== 'float32' && torchDtype !== 'bfloat16' && torchDtype !== 'float16') {
    throw new Error(`${file}: torch_dtype ${JSON.stringify(torchDtype)} is not supported; supported: float32, bfloat16, float16`);
  }
  // Qwen2 always has q/k/v biases (its config has no attention_bias key); Llama's attention_bias covers o_proj too.
  const attentionBias = type === 'qwen2' ? true : f.bool('attention_bias', false);
  const outputBias = type === 'llama' ? f.bool('attention_bias', false) : false;
  const slidingWindowEnabled = type === 'mistral' || (type !== 'llama' && f.bool('use_sliding_window', false));
  const slidingWindow = slidingWindowEnabled && f.has('sliding_window') ? f.int('sliding_window') : undefined;
  const g = new Fields(generation, generationFile);
  const eosTokenIds = [...new Set([...f.ids('eos_token_id'), ...g.ids('eos_token_id')])];
  const bos = g.ids('bos_token_id')[0] ?? f.ids('bos_token_id')[0];
  const pad = g.ids('pad_token_id')[0] ?? f.ids('pad_token_id')[0];
  const generationDefaults: ModelConfig['generationDefaults'] = {};
  if (g.has('temperature')) generationDefaults.temperature = g.number('temperature');
  if (g.has('top_p')) generationDefaults.topP = g.number('top_p');
  if (g.has('top_k')) generationDefaults.topK = g.int('top_k', undefined, 0);
  if (g.has('max_new_tokens')) generationDefaults.maxNewTokens = g.int('max_new_tokens');
  return {
    modelType: type,
    vocabSize: f.int('vocab_size'),
    hiddenSize,
    intermediateSize: f.int('intermediate_size'),
    numHiddenLayers: f.int('num_hidden_layers'),
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    rmsNormEps: f.number('rms_norm_eps', 1e-6),
    ropeTheta: f.number('rope_theta', 10000),
    ropeScaling: parseRopeScaling(raw.rope_scaling, file, maxPositionEmbeddings),
    maxPositionEmbeddings,
    tieWordEmbeddings: f.bool('tie_word_embeddings', false),
    attentionBias,
    outputBias,
    mlpBias: f.bool('mlp_bias', false),
    qkNorm: type === 'qwen3',
    slidingWindow,
    torchDtype,
    bosTokenId: bos,
    eosTokenIds,
    padTokenId: pad,
    generationDefaults,
    raw,
  };
}
