// Model and tokenizer must agree on the vocabulary: every id the tokenizer can produce needs a row
// of the embedding (config.json's vocab_size), or the first such token makes the embedding lookup
// fail deep inside a forward pass (the server answered every request with HTTP 500). The
// embedding may be larger than the tokenizer (Qwen pads 151669 ids to 151936 rows); smaller is
// refused when the model loads. The special ids of config.json and generation_config.json are
// checked against vocab_size when the config is parsed (config.ts).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readTokenizerJsonSync, tokenIdCount } from '../tokenizer/config-files.ts';
import type { ModelConfig } from './config.ts';

/**
 * Throws when a tokenizer with `tokenizerIds` ids (one past its largest id) does not fit the
 * model's embedding; `tokenizerFile` and `configFile` name the two sides in the message.
 */
export function checkTokenizerFitsModel(config: Pick<ModelConfig, 'vocabSize'>, tokenizerIds: number, tokenizerFile: string, configFile = 'config.json'): void {
  if (tokenizerIds <= config.vocabSize) return;
  throw new Error(
    `${configFile}: field "vocab_size" is ${config.vocabSize}, but ${tokenizerFile} has token ids up to ${tokenizerIds - 1}: ` +
      `the model has no embedding for ids ${config.vocabSize}..${tokenizerIds - 1}; vocab_size must be at least ${tokenizerIds}`,
  );
}

/** The check for a model folder: against its own tokenizer.json, when it has one. */
export function checkFolderVocabulary(dir: string, config: Pick<ModelConfig, 'vocabSize'>): void {
  const path = join(dir, 'tokenizer.json');
  if (!existsSync(path)) return;
  checkTokenizerFitsModel(config, tokenIdCount(readTokenizerJsonSync(path)), path, join(dir, 'config.json'));
}
