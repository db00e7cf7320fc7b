// Model and tokenizer vocabularies must agree when a model folder loads: a tokenizer with more ids
// than the embedding has rows is refused by loadModel (which every command and the server use),
// naming config.json's vocab_size; special ids outside the vocabulary are refused naming the file
// and field. A larger embedding than the tokenizer (Qwen's padding rows) is fine.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initModel } from '../../src/model/init.ts';
import { loadModel, saveModel } from '../../src/model/load.ts';
import { loadModelConfig, parseModelConfig } from '../../src/model/config.ts';
import { checkTokenizerFitsModel } from '../../src/model/vocabulary.ts';
import { loadModelEngine } from '../../src/serve/engine.ts';
import { savedConfigs } from '../helpers/saved-configs.ts';

const arithTiny = fileURLToPath(new URL('../../models/arith-tiny/', import.meta.url));
const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'intuitor-vocabulary-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('a vocab_size smaller than the tokenizer is refused at load, by loadModel and by the server', async () => {
  // Weights and config agree (100 embedding rows); only the tokenizer (148 ids) does not fit.
  const config = JSON.parse(readFileSync(join(arithTiny, 'config.json'), 'utf8'));
  const small = initModel({ ...config, vocab_size: 100 }, 0);
  const dir = join(root, 'small-vocab');
  saveModel(small, dir, { tokenizerDir: arithTiny });
  small.dispose();
  const message =
    `${join(dir, 'config.json')}: field "vocab_size" is 100, but ${join(dir, 'tokenizer.json')} has token ids up to 147: ` +
    'the model has no embedding for ids 100..147; vocab_size must be at least 148';
  assert.throws(() => loadModel(dir), { message });
  await assert.rejects(loadModelEngine(dir), { message });
  // the same folder with the tokenizer's size loads
  const fits = initModel({ ...config, vocab_size: 148 }, 0);
  saveModel(fits, dir, { tokenizerDir: arithTiny });
  fits.dispose();
  loadModel(dir).dispose();
});

test('an embedding larger than the tokenizer is fine (Qwen pads 151669 ids to 151936 rows)', () => {
  const qwen = loadModelConfig(join(fixtures, 'qwen2-tiny'));
  assert.doesNotThrow(() => checkTokenizerFitsModel(qwen, 151669, 'tokenizer.json'));
  assert.throws(() => checkTokenizerFitsModel(qwen, 151937, 'tokenizer.json'), /vocab_size must be at least 151937/);
});

test('bos, eos and pad ids outside the vocabulary are refused, naming the file and field', () => {
  const qwen2 = savedConfigs['5.18.0'].qwen2; // vocab_size 160
  assert.throws(() => parseModelConfig({ ...qwen2, eos_token_id: 160 }), {
    message: 'config.json: field "eos_token_id" holds 160, outside the vocabulary (vocab_size 160: ids 0..159)',
  });
  assert.throws(() => parseModelConfig({ ...qwen2, eos_token_id: [2, 999] }), /field "eos_token_id" holds 999/);
  assert.throws(() => parseModelConfig({ ...qwen2, bos_token_id: 200 }), /config.json: field "bos_token_id" holds 200/);
  assert.throws(() => parseModelConfig(qwen2, { pad_token_id: 5000 }), /^Error: generation_config.json: field "pad_token_id" holds 5000, outside the vocabulary/);
  assert.equal(parseModelConfig(qwen2, { eos_token_id: [2, 159] }).eosTokenIds.join(), '2,159', 'the last row is a valid id');

  // from a folder, the message names the file's path
  const dir = join(root, 'bad-generation-config');
  cpSync(join(fixtures, 'llama-tiny'), dir, { recursive: true });
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: 128000, eos_token_id: [128001, 128256] }));
  assert.throws(() => loadModel(dir), { message: `${join(dir, 'generation_config.json')}: field "eos_token_id" holds 128256, outside the vocabulary (vocab_size 128256: ids 0..128255)` });
});
