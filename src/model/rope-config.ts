// The rotary-embedding settings of a config.json, in every spelling transformers writes:
//
//   transformers 4.x:  "rope_theta": 500000, "rope_scaling": {"rope_type" | "type": "llama3", "factor": 8, ...}
//   transformers 5.x:  "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000, "factor": 8, ...}
//                      (or one such object per layer type: {"full_attention": {...}, "sliding_attention": {...}})
//
// plus the top-level "original_max_position_embeddings" and "partial_rotary_factor" that both
// versions honour. The spellings are merged into one set of parameters, as transformers 5's
// RotaryEmbeddingConfigMixin (convert_rope_params_to_dict, standardize_rope_params) does; where two
// spellings give one parameter different values the config is refused with both fields named, since
// the two transformers versions would build different models from it.
//
// Rope types: default, linear, llama3 and yarn are what the decoder implements (src/model/rope.ts);
// dynamic, longrope and any other type are refused by name rather than silently run as default.

import { isJsonObject } from '../config/json-file.ts';
import { Fields, type Json } from './json-fields.ts';

export type RopeScaling =
  | { type: 'none' }
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number }
  | {
      type: 'yarn';
      factor: number;
      originalMaxPositionEmbeddings: number;
      betaFast: number;
      betaSlow: number;
      /** multiplies cos/sin; undefined: 0.1 ln(factor) + 1, the paper's default */
      attentionFactor: number | undefined;
      /** false: the correction range keeps fractional bounds (transformers' "truncate"; default true) */
      truncate?: boolean;
    };

export interface RopeSettings {
  ropeTheta: number;
  ropeScaling: RopeScaling;
}

export const supportedRopeTypes = ['default', 'linear', 'llama3', 'yarn'] as const;

/** Why a rope type transformers knows is still refused here. */
const unsupportedRopeTypes: Record<string, string> = {
  dynamic: 'dynamic NTK scaling changes the frequencies with the sequence length, which this decoder does not implement',
  longrope: 'LongRoPE (per-dimension short/long factors) is not implemented',
};

/** transformers' default_theta for the supported architectures. */
const DEFAULT_THETA = 10000;

/** One rope parameter and the config field it was read from, for messages. */
interface Sourced {
  value: unknown;
  field: string;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * rope_parameters as one flat object: flat already, or nested per layer type, in which case every
 * layer type the model uses must carry the same settings (the decoder has one rotary table).
 */
function flatRopeParameters(raw: unknown, file: string, layerTypes: readonly string[]): Json | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isJsonObject(raw)) throw new Error(`${file}: field "rope_parameters" must be an object or null, found ${JSON.stringify(raw)}`);
  const keys = Object.keys(raw);
  const nested = keys.length > 0 && keys.every((k) => k === 'full_attention' || k === 'sliding_attention' || layerTypes.includes(k));
  if (!nested) return raw;
  const used = [...new Set(layerTypes.length > 0 ? layerTypes : keys)];
  const perType = used.map((type) => raw[type]).filter((p) => p !== undefined && p !== null);
  for (const [i, p] of perType.entries()) {
    if (!isJsonObject(p)) throw new Error(`${file}: field "rope_parameters.${used[i]}" must be an object, found ${JSON.stringify(p)}`);
  }
  if (perType.some((p) => !same(p, perType[0]))) {
    throw new Error(`${file}: rope_parameters differ between layer types (${used.join(', ')}); this decoder uses one rotary embedding for every layer`);
  }
  return (perType[0] as Json | undefined) ?? {};
}

/**
 * Merges the spellings into one map of parameter -> (value, field). `type` is the 4.x alias of
 * `rope_type`; a parameter given twice with different values is an error naming both fields.
 */
function mergeSpellings(raw: Json, file: string, layerTypes: readonly string[]): Map<string, Sourced> {
  const merged = new Map<string, Sourced>();
  const put = (key: string, value: unknown, field: string) => {
    if (value === undefined || value === null) return;
    const name = key === 'type' ? 'rope_type' : key;
    const before = merged.get(name);
    if (before && !same(before.value, value)) {
      throw new Error(`${file}: "${before.field}" (${JSON.stringify(before.value)}) and "${field}" (${JSON.stringify(value)}) disagree; keep one of them`);
    }
    if (!before) merged.set(name, { value, field });
  };
  const parameters = flatRopeParameters(raw.rope_parameters, file, layerTypes);
  for (const [key, value] of Object.entries(parameters ?? {})) put(key, value, `rope_parameters.${key}`);
  const scaling = raw.rope_scaling;
  if (scaling !== undefined && scaling !== null) {
    if (!isJsonObject(scaling)) throw new Error(`${file}: field "rope_scaling" must be an object or null, found ${JSON.stringify(scaling)}`);
    for (const [key, value] of Object.entries(scaling)) put(key, value, `rope_scaling.${key}`);
  }
  put('rope_theta', raw.rope_theta, 'rope_theta');
  put('original_max_position_embeddings', raw.original_max_position_embeddings, 'original_max_position_embeddings');
  put('partial_rotary_factor', raw.partial_rotary_factor, 'partial_rotary_factor');
  return merged;
}

/** Reads rope_theta and the scaling of a config.json object (see the header for the spellings). */
export function parseRopeSettings(raw: Json, file: string, maxPositionEmbeddings: number, layerTypes: readonly string[] = []): RopeSettings {
  const merged = mergeSpellings(raw, file, layerTypes);
  // A Fields view over the merged values; its label names the object the rope type came from.
  const typeSource = merged.get('rope_type')?.field.split('.')[0] ?? (raw.rope_parameters != null ? 'rope_parameters' : 'rope_scaling');
  const values: Json = Object.fromEntries([...merged].map(([k, s]) => [k, s.value]));
  const p = new Fields(values, `${file} ${typeSource}`);
  const fieldOf = (key: string) => merged.get(key)?.field ?? key;
  const thetaSource = merged.get('rope_theta');
  const theta = thetaSource === undefined ? DEFAULT_THETA : (thetaSource.value as number);
  if (typeof theta !== 'number' || !(theta > 0)) throw new Error(`${file}: field "${thetaSource!.field}" must be a positive number, found ${JSON.stringify(theta)}`);

  const partial = merged.get('partial_rotary_factor');
  if (partial && partial.value !== 1) {
    throw new Error(`${file}: "${partial.field}" ${JSON.stringify(partial.value)} is not supported: this decoder rotates the whole head (1.0)`);
  }
  const kind = merged.get('rope_type')?.value ?? 'default';
  if (typeof kind !== 'string' || !(supportedRopeTypes as readonly string[]).includes(kind)) {
    const why = typeof kind === 'string' && unsupportedRopeTypes[kind] ? ` (${unsupportedRopeTypes[kind]})` : '';
    throw new Error(`${file}: ${fieldOf('rope_type').split('.')[0]} type ${JSON.stringify(kind)} is not supported${why}; supported: ${supportedRopeTypes.join(', ')}`);
  }
  // transformers 5 fills original_max_position_embeddings from max_position_embeddings for the
  // scaled types; 4.x reads it from rope_scaling (yarn falls back the same way).
  const originalMax = () => p.int('original_max_position_embeddings', maxPositionEmbeddings);
  switch (kind) {
    case 'default':
      return { ropeTheta: theta, ropeScaling: { type: 'none' } };
    case 'linear':
      return { ropeTheta: theta, ropeScaling: { type: 'linear', factor: p.number('factor') } };
    case 'llama3':
      return {
        ropeTheta: theta,
        ropeScaling: {
          type: 'llama3',
          factor: p.number('factor'),
          lowFreqFactor: p.number('low_freq_factor'),
          highFreqFactor: p.number('high_freq_factor'),
          originalMaxPositionEmbeddings: originalMax(),
        },
      };
    default: {
      const original = originalMax();
      // transformers 5: a missing factor is the ratio of the extended to the original context.
      const factor = p.number('factor', maxPositionEmbeddings / original);
      const scaling: RopeScaling = {
        type: 'yarn',
        factor,
        originalMaxPositionEmbeddings: original,
        betaFast: p.number('beta_fast', 32),
        betaSlow: p.number('beta_slow', 1),
        attentionFactor: p.optionalNumber('attention_factor') ?? mscaleAttentionFactor(p, factor),
      };
      if (p.has('truncate')) scaling.truncate = p.bool('truncate', true);
      return { ropeTheta: theta, ropeScaling: scaling };
    }
  }
}

/**
 * DeepSeek-style yarn: with both mscale and mscale_all_dim, the attention factor is their ratio.
 * (transformers tests both for truthiness, so a 0 means "not given" there too.)
 */
function mscaleAttentionFactor(p: Fields, factor: number): number | undefined {
  const mscale = p.json.mscale;
  const mscaleAllDim = p.json.mscale_all_dim;
  if (!mscale || !mscaleAllDim) return undefined;
  const m = (scale: number, k: number) => (scale <= 1 ? 1 : 0.1 * k * Math.log(scale) + 1);
  return m(factor, p.number('mscale')) / m(factor, p.number('mscale_all_dim'));
}
