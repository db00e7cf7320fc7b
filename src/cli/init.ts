// `intuitor init`: a new model with random weights in Hugging Face layout, from a config preset or a
// config.json file and a tokenizer folder (or 'arith', the built-in word tokenizer of the arith task).
// vocab_size and the special-token ids are taken from the tokenizer so the two always agree.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { Tokenizer } from '../tokenizer/index.ts';
import { arithTokenizerWords, buildWordTokenizer, writeWordTokenizer } from '../tokenizer/build-word-tokenizer.ts';
import { initModel, MODEL_PRESETS, newModelConfigJson } from '../model/init.ts';
import { saveModel } from '../model/load.ts';
import { checkFlagValues, type FlagSpecs, type FlagValues } from '../config/flags.ts';
import { deviceFlags } from '../config/device-flags.ts';
import { readJsonObject } from '../config/json-file.ts';

export const initFlags = {
  modelConfig: { type: 'string', default: 'arith-tiny', deprecatedAlias: 'config', help: `the architecture: a config.json file, or a preset: ${Object.keys(MODEL_PRESETS).join(', ')}` },
  tokenizer: { type: 'string', default: 'arith', help: "a folder with tokenizer.json and tokenizer_config.json, or 'arith' for the built-in word tokenizer" },
  output: { type: 'string', required: true, help: 'the new model folder (replaced atomically if it exists)' },
  seed: { type: 'int', default: 0, min: 0, help: 'seeds the random weights; the same seed gives the same bytes' },
  dtype: { ...deviceFlags.dtype, help: 'the dtype the weights are stored in: float32, bfloat16 or float16 (drawn in float32 on the CPU, so a seed gives the same weights anywhere)' },
} as const satisfies FlagSpecs;

export type InitConfig = FlagValues<typeof initFlags>;

export function resolveInitConfig(values: Record<string, unknown>): InitConfig {
  const config = checkFlagValues(initFlags, values);
  if (!(config.modelConfig in MODEL_PRESETS) && !existsSync(config.modelConfig)) {
    throw new Error(`--model-config ${config.modelConfig}: neither a preset (${Object.keys(MODEL_PRESETS).join(', ')}) nor an existing file`);
  }
  return config;
}

export async function runInit(config: InitConfig, io: { stderr: Writable }): Promise<void> {
  const base = MODEL_PRESETS[config.modelConfig] ?? readJsonObject(config.modelConfig, 'model configuration');
  const builtTokenizer = config.tokenizer === 'arith' ? mkdtempSync(join(tmpdir(), 'intuitor-tokenizer-')) : undefined;
  try {
    if (builtTokenizer) writeWordTokenizer(builtTokenizer, buildWordTokenizer(arithTokenizerWords()));
    const tokenizerDir = builtTokenizer ?? config.tokenizer;
    const tokenizer = await Tokenizer.fromDir(tokenizerDir);
    const model = initModel(newModelConfigJson(base, tokenizer), config.seed);
    try {
      // The built tokenizer's tokenizer_config.json is for this model: the class transformers needs
      // beside its model_type, and its context length. A given tokenizer folder is copied as it is.
      if (builtTokenizer) {
        const forModel = { modelType: model.config.modelType, modelMaxLength: model.config.maxPositionEmbeddings };
        writeWordTokenizer(builtTokenizer, buildWordTokenizer(arithTokenizerWords(), forModel));
      }
      saveModel(model, config.output, { tokenizerDir, dtype: config.dtype });
      const count = model.parameters().reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
      io.stderr.write(`[initialised a ${model.config.modelType} model with ${count.toLocaleString('en-US')} parameters (vocabulary ${tokenizer.vocabSize}) in ${config.output}]\n`);
    } finally {
      model.dispose();
    }
  } finally {
    if (builtTokenizer) rmSync(builtTokenizer, { recursive: true, force: true });
  }
}
