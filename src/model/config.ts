// Hugging Face causal-LM configuration: config.json (+ generation_config.json) parsed into one
// typed, validated ModelConfig. Only the fields that change the computation are kept; every
// missing or ill-typed one is an error naming the file and the field.
//
// Supported model_type: qwen2 (Qwen2, Qwen2.5), qwen3, llama (Llama 2/3), mistral. They share one
// decoder; the differences are data: q/k/v biases (Qwen2), per-head q/k RMSNorm (Qwen3), rope
// scaling (Llama 3), sliding-window attention (Mistral).
//
// Both generations of the format are read: transformers 4.x (rope_theta + rope_scaling, torch_dtype)
// and 5.x (rope_parameters, dtype, layer_types); see rope-config.ts for the rotary fields. A field
// that is absent takes the default of transformers' config class for that model_type, as
// transformers itself would. Where two spellings of one setting disagree the config is refused.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonObject } from '../config/json-file.ts';
import { resolveModelDir } from './hub-cache.ts';
import { Fields, type Json } from './json-fields.ts';
import { parseRopeSettings, type RopeScaling } from './rope-config.ts';

export type { RopeScaling } from './rope-config.ts';

export const supportedModelTypes = ['qwen2', 'qwen3', 'llama', 'mistral'] as const;
export type ModelType = (typeof supportedModelTypes)[number];

const supportedDtypes = ['float32', 'bfloat16', 'float16'] as const;
export type WeightsDtype = (typeof supportedDtypes)[number];

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
  /** q/k/v projections have biases (always for Qwen2; attention_bias for Llama and Qwen3) */
  attentionBias: boolean;
  /** the output projection has a bias too (Llama's and Qwen3's attention_bias covers o_proj) */
  outputBias: boolean;
  mlpBias: boolean;
  /** Qwen3: RMSNorm over each head of q and k before rotary embeddings */
  qkNorm: boolean;
  /** every layer attends to at most this many previous positions (Mistral; Qwen with use_sliding_window) */
  slidingWindow: number | undefined;
  /** the dtype the weights were saved in (dtype, or torch_dtype before transformers 4.56) */
  torchDtype: WeightsDtype;
  bosTokenId: number | undefined;
  /** every id that ends a generation: config.json's and generation_config.json's, merged */
  eosTokenIds: number[];
  padTokenId: number | undefined;
  /** defaults for sampling from generation_config.json, where present */
  generationDefaults: { temperature?: number; topP?: number; topK?: number; maxNewTokens?: number };
  /** the parsed config.json, to write back unchanged when saving */
  raw: Record<string, unknown>;
}

/** Defaults of transformers' config classes for fields a config.json may leave out. */
const classDefaults: Record<ModelType, { maxPositionEmbeddings: number; headDim?: number; slidingWindow?: number }> = {
  qwen2: { maxPositionEmbeddings: 32768, slidingWindow: 4096 },
  qwen3: { maxPositionEmbeddings: 32768, headDim: 128, slidingWindow: 4096 },
  llama: { maxPositionEmbeddings: 2048 },
  mistral: { maxPositionEmbeddings: 131072, slidingWindow: 4096 },
};

/**
 * Parses config.json (and generation_config.json beside it, if any) from a model folder, or from a
 * model named ORG/NAME[@revision] in the Hugging Face cache (hub-cache.ts).
 */
export function loadModelConfig(spec: string): ModelConfig {
  const dir = resolveModelDir(spec, process.env, ['config']);
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new Error(`${dir} is not a Hugging Face model folder: it has no config.json`);
  const raw = readJsonObject(configPath, 'model configuration');
  const generationPath = join(dir, 'generation_config.json');
  const generation = existsSync(generationPath) ? readJsonObject(generationPath, 'generation configuration') : {};
  return parseModelConfig(raw, generation, configPath, generationPath);
}

/** "dtype" (transformers >= 4.56) or "torch_dtype" (before); both present must agree. */
function weightsDtype(raw: Json, file: string): WeightsDtype {
  const given = (['dtype', 'torch_dtype'] as const).filter((k) => raw[k] !== undefined && raw[k] !== null);
  if (given.length === 2 && raw.dtype !== raw.torch_dtype) {
    throw new Error(`${file}: "dtype" (${JSON.stringify(raw.dtype)}) and "torch_dtype" (${JSON.stringify(raw.torch_dtype)}) disagree; keep one of them`);
  }
  const field = given[0];
  const value = field ? raw[field] : 'float32';
  if (!(supportedDtypes as readonly unknown[]).includes(value)) {
    throw new Error(`${file}: ${field} ${JSON.stringify(value)} is not supported; supported: ${supportedDtypes.join(', ')}`);
  }
  return value as WeightsDtype;
}

/**
 * The weights' dtype under the spelling(s) config.json already uses ("dtype" since transformers
 * 4.56, "torch_dtype" before), so the two never disagree; "torch_dtype" when it has neither, which
 * every transformers version reads.
 */
export function dtypeFields(raw: Record<string, unknown>, dtype: string): Record<string, string> {
  const used = ['dtype', 'torch_dtype'].filter((k) => raw[k] !== undefined && raw[k] !== null);
  return Object.fromEntries((used.length > 0 ? used : ['torch_dtype']).map((k) => [k, dtype]));
}

/**
 * The one sliding window of the decoder, or undefined. transformers gives each layer a type
 * (layer_types; Qwen derives it as "sliding_attention" for layers >= max_window_layers when
 * use_sliding_window is on) and Mistral slides every layer when sliding_window is set. The decoder
 * has one attention span for all layers, so a mix of sliding and full layers is refused.
 */
function slidingWindowOf(type: ModelType, raw: Json, f: Fields, numLayers: number, file: string): number | undefined {
  if (type === 'llama') return undefined;
  // An absent sliding_window takes the class default (4096); an explicit null means none.
  const window = f.has('sliding_window') ? f.int('sliding_window') : raw.sliding_window === null ? undefined : classDefaults[type].slidingWindow;
  if (type === 'mistral') return window; // MistralModel ignores layer_types: one window for all layers
  const enabled = f.bool('use_sliding_window', false) ? window : undefined;
  let sliding: boolean[];
  let field: string;
  if (raw.layer_types !== undefined && raw.layer_types !== null) {
    const types = raw.layer_types;
    if (!Array.isArray(types) || types.length !== numLayers || !types.every((t) => t === 'full_attention' || t === 'sliding_attention')) {
      f.fail('layer_types', `a list of ${numLayers} (num_hidden_layers) entries "full_attention" or "sliding_attention"`);
    }
    // a "sliding_attention" layer without a window attends fully (transformers sets its window to None)
    sliding = types.map((t) => t === 'sliding_attention' && enabled !== undefined);
    field = 'layer_types';
  } else {
    const firstSliding = f.int('max_window_layers', 28, 0);
    sliding = Array.from({ length: numLayers }, (_, i) => enabled !== undefined && i >= firstSliding);
    field = 'max_window_layers';
  }
  if (sliding.every((s) => !s)) return undefined;
  if (sliding.every((s) => s)) return enabled;
  const which = sliding.flatMap((s, i) => (s ? [i] : [])).join(', ');
  throw new Error(`${file}: field "${field}" gives sliding-window attention to layers ${which} only; this decoder applies one attention span to every layer`);
}

/** bos/eos/pad ids of both files must be rows of the embedding (0 <= id < vocab_size). */
function checkIdsInVocabulary(files: Fields[], vocabSize: number): void {
  for (const f of files) {
    for (const field of ['bos_token_id', 'eos_token_id', 'pad_token_id']) {
      const outside = f.ids(field).find((id) => id >= vocabSize);
      if (outside !== undefined) {
        throw new Error(`${f.label}: field "${field}" holds ${outside}, outside the vocabulary (vocab_size ${vocabSize}: ids 0..${vocabSize - 1})`);
      }
    }
  }
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
  const numHiddenLayers = f.int('num_hidden_layers');
  if (numAttentionHeads % numKeyValueHeads !== 0) {
    throw new Error(`${file}: num_attention_heads (${numAttentionHeads}) must be a multiple of num_key_value_heads (${numKeyValueHeads})`);
  }
  const defaultHeadDim = classDefaults[type].headDim;
  if (!f.has('head_dim') && defaultHeadDim === undefined && hiddenSize % numAttentionHeads !== 0) {
    throw new Error(`${file}: hidden_size (${hiddenSize}) is not divisible by num_attention_heads (${numAttentionHeads}) and no head_dim is given`);
  }
  const headDim = f.int('head_dim', defaultHeadDim ?? hiddenSize / numAttentionHeads);
  if (headDim % 2 !== 0) throw new Error(`${file}: head_dim must be even for rotary embeddings, found ${headDim}`);
  const hiddenAct = raw.hidden_act ?? 'silu';
  if (hiddenAct !== 'silu') throw new Error(`${file}: hidden_act ${JSON.stringify(hiddenAct)} is not supported; supported: silu`);
  const maxPositionEmbeddings = f.int('max_position_embeddings', classDefaults[type].maxPositionEmbeddings);
  const vocabSize = f.int('vocab_size');
  const layerTypes = Array.isArray(raw.layer_types) ? raw.layer_types.filter((t): t is string => typeof t === 'string') : [];
  const rope = parseRopeSettings(raw, file, maxPositionEmbeddings, layerTypes);
  // Qwen2 always has q/k/v biases (its config has no attention_bias key); Llama's and Qwen3's
  // attention_bias covers o_proj too; Mistral's attention has no biases at all.
  const attentionBias = type === 'qwen2' ? true : type === 'mistral' ? false : f.bool('attention_bias', false);
  const outputBias = type === 'llama' || type === 'qwen3' ? attentionBias : false;
  const g = new Fields(generation, generationFile);
  checkIdsInVocabulary([f, g], vocabSize);
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
    vocabSize,
    hiddenSize,
    intermediateSize: f.int('intermediate_size'),
    numHiddenLayers,
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    rmsNormEps: f.number('rms_norm_eps', 1e-6),
    ropeTheta: rope.ropeTheta,
    ropeScaling: rope.ropeScaling,
    maxPositionEmbeddings,
    tieWordEmbeddings: f.bool('tie_word_embeddings', false),
    attentionBias,
    outputBias,
    mlpBias: f.bool('mlp_bias', false),
    qkNorm: type === 'qwen3',
    slidingWindow: slidingWindowOf(type, raw, f, numHiddenLayers, file),
    torchDtype: weightsDtype(raw, file),
    bosTokenId: bos,
    eosTokenIds,
    padTokenId: pad,
    generationDefaults,
    raw,
  };
}
