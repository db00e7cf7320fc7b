// Loading and saving a model folder in Hugging Face layout: config.json, generation_config.json,
// model.safetensors (or shards + index) and the tokenizer files, which are copied unchanged.
//
// Every parameter the config implies must be in the checkpoint with the config's shape; extra
// tensors (old rotary buffers, a redundant tied lm_head) are ignored, as transformers does. The
// folder's tokenizer must fit the embedding (vocabulary.ts): every command loads its model here.

import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as torch from '../torch/index.ts';
import { CausalLM } from './causal-lm.ts';
import { dtypeFields, loadModelConfig, type ModelConfig } from './config.ts';
import { resolveModelDir } from './hub-cache.ts';
import { expectedParameters } from './parameters.ts';
import { openCheckpoint, saveCheckpoint } from './safetensors.ts';
import { checkFolderVocabulary } from './vocabulary.ts';

export interface LoadModelOptions {
  /** compute dtype (default: float32, which matches transformers' float32 reference) */
  dtype?: 'float32' | 'bfloat16' | 'float16';
  device?: string;
}

/**
 * Loads a model folder, or a model named ORG/NAME[@revision] from the Hugging Face cache
 * (hub-cache.ts); the parameters are kept (outside scopes) until model.dispose().
 */
export function loadModel(spec: string, options: LoadModelOptions = {}): CausalLM {
  const dir = resolveModelDir(spec, process.env, ['config', 'weights']);
  const config = loadModelConfig(dir);
  checkFolderVocabulary(dir, config);
  return new CausalLM(config, loadParameters(dir, config, options));
}

export function loadParameters(spec: string, config: ModelConfig, options: LoadModelOptions = {}): Map<string, torch.Tensor> {
  const dir = resolveModelDir(spec, process.env, ['weights']);
  const dtype = options.dtype ?? 'float32';
  const checkpoint = openCheckpoint(dir);
  const params = new Map<string, torch.Tensor>();
  try {
    for (const [name, shape] of expectedParameters(config)) {
      if (!checkpoint.has(name)) {
        throw new Error(`${dir}: the checkpoint has no tensor ${name}, which a ${config.modelType} model with this config.json needs`);
      }
      const info = checkpoint.info(name);
      if (info.shape.join() !== shape.join()) {
        throw new Error(`${info.file}: tensor ${name} has shape [${info.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`);
      }
      if (!torch.isFloatingPoint(info.dtype)) throw new Error(`${info.file}: tensor ${name} is ${info.storedDtype}; weights must be floating point`);
      params.set(name, checkpoint.load(name, { dtype, ...(options.device ? { device: options.device } : {}) }).keep());
    }
  } catch (error) {
    for (const p of params.values()) p.dispose();
    throw error;
  } finally {
    checkpoint.close();
  }
  return params;
}

const tokenizerFiles = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt', 'chat_template.jinja', 'chat_template.json'];

export interface SaveModelOptions {
  /** weights dtype on disk (default: the model's) */
  dtype?: 'float32' | 'bfloat16' | 'float16';
  /** shard above this many bytes (default 5 GB, as transformers) */
  maxShardBytes?: number;
  /** copy tokenizer files from this folder or cached hub model (default: none) */
  tokenizerDir?: string;
}

/**
 * Writes the model to `dir` in Hugging Face layout. Everything is written into a temporary folder
 * beside `dir` first and moved into place at the end, so `dir` never holds half a model.
 */
export function saveModel(model: CausalLM, dir: string, options: SaveModelOptions = {}): void {
  const dtype = options.dtype ?? (model.dtype as 'float32' | 'bfloat16' | 'float16');
  // A hub id resolves to its snapshot; a folder without tokenizer files stays a folder to copy nothing from.
  const tokenizerDir = options.tokenizerDir === undefined ? undefined : resolveModelDir(options.tokenizerDir, process.env, []);
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const staging = join(parent, `.${basename(dir)}.tmp-${process.pid}-${Date.now()}`);
  mkdirSync(staging);
  try {
    const config = { ...model.config.raw, ...dtypeFields(model.config.raw, dtype) };
    writeFileSync(join(staging, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    writeFileSync(join(staging, 'generation_config.json'), `${JSON.stringify(generationConfig(model.config), null, 2)}\n`);
    const tensors = new Map<string, torch.Tensor>();
    torch.scope(() => {
      for (const [name, p] of model.params) tensors.set(name, p.dtype === dtype ? p.detach() : p.detach().to(dtype));
      saveCheckpoint(staging, tensors, { ...(options.maxShardBytes ? { maxShardBytes: options.maxShardBytes } : {}) });
    });
    for (const file of tokenizerFiles) {
      const source = tokenizerDir && join(tokenizerDir, file);
      if (source && existsSync(source)) copyFileSync(source, join(staging, file));
    }
    // Swap in: the old folder (if any) moves aside first and is removed only after the rename.
    const old = existsSync(dir) ? `${staging}.old` : undefined;
    if (old) renameSync(dir, old);
    renameSync(staging, dir);
    if (old) rmSync(old, { recursive: true, force: true });
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

function generationConfig(config: ModelConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (config.bosTokenId !== undefined) out.bos_token_id = config.bosTokenId;
  if (config.eosTokenIds.length > 0) out.eos_token_id = config.eosTokenIds.length === 1 ? config.eosTokenIds[0] : config.eosTokenIds;
  if (config.padTokenId !== undefined) out.pad_token_id = config.padTokenId;
  const g = config.generationDefaults;
  if (g.temperature !== undefined) out.temperature = g.temperature;
  if (g.topP !== undefined) out.top_p = g.topP;
  if (g.topK !== undefined) out.top_k = g.topK;
  if (g.maxNewTokens !== undefined) out.max_new_tokens = g.maxNewTokens;
  return out;
}
