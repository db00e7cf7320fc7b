// The tokenizer files we write make transformers' AutoTokenizer build the generic class that runs
// tokenizer.json as it is (PreTrainedTokenizerFast in 4.x, TokenizersBackend in 5.x), beside the
// config.json they ship with. `autoTokenizerClass` below writes out AutoTokenizer.from_pretrained's
// choice for a local folder without trust_remote_code (models/auto/tokenization_auto.py, 4.4x to
// 4.57 and 5.0 to 5.18); its outcomes for these files were confirmed by loading them with
// transformers 4.57.6 and 5.18.0. The other fields transformers reads (special tokens,
// model_max_length, chat template placement) are checked against the model's own files.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.ts';
import { MODEL_TYPES_WITH_FORCED_TOKENIZER } from '../../src/tokenizer/transformers-class.ts';
import { CHATML_TEMPLATE } from '../../src/tokenizer/build-word-tokenizer.ts';
import { savedConfigs } from '../helpers/saved-configs.ts';

type Json = Record<string, any>;
type Major = 4 | 5;

/** The class each version registers for a model_type (TOKENIZER_MAPPING_NAMES; 4.x: the fast one). */
const registered: Record<Major, Record<string, string | undefined>> = {
  4: { qwen2: 'Qwen2TokenizerFast', qwen3: 'Qwen2TokenizerFast', llama: 'LlamaTokenizerFast', mistral: 'LlamaTokenizerFast' },
  5: { qwen2: 'Qwen2Tokenizer', qwen3: 'Qwen2Tokenizer', llama: undefined, mistral: 'TokenizersBackend' },
};
/** 5.x's MODELS_WITH_INCORRECT_HUB_TOKENIZER_CLASS, among the supported model types. */
const forcedIn5 = ['qwen2'];
const generic: Record<Major, string> = { 4: 'PreTrainedTokenizerFast', 5: 'TokenizersBackend' };
const stripFast = (name: string) => name.replace(/Fast$/, '');
/** 5.x's tokenizer_class_from_name: the generic names all resolve to TokenizersBackend. */
const class5 = (name: string) => (['PreTrainedTokenizer', 'PreTrainedTokenizerFast', 'TokenizersBackend', 'PythonBackend'].includes(name) ? 'TokenizersBackend' : stripFast(name));

function autoTokenizerClass(major: Major, tokenizerConfig: Json, modelType: string): string {
  const hub: string | undefined = tokenizerConfig.tokenizer_class ?? undefined;
  const autoMap = tokenizerConfig.auto_map?.AutoTokenizer;
  if (major === 4) {
    // An auto_map is not followed: the model type has local code and trust_remote_code is unset.
    if (hub) return hub.endsWith('Fast') ? hub : `${hub}Fast`;
    return registered[4][modelType]!;
  }
  const reg = registered[5][modelType];
  if (autoMap === undefined && hub && reg && stripFast(reg) !== stripFast(hub)) {
    // The class in the file disagrees with the registered one: trusted, unless the model type is listed.
    if (!['TokenizersBackend', 'PythonBackend', 'PreTrainedTokenizerFast', 'MistralCommonBackend'].includes(stripFast(reg))) {
      const chosen = class5(forcedIn5.includes(modelType) ? reg : hub);
      if (chosen !== 'TokenizersBackend') return chosen;
    }
    return 'TokenizersBackend';
  }
  // With an auto_map and no trust_remote_code the remote class is dropped; tokenizer_class decides.
  if (hub) return class5(stripFast(hub));
  return reg ?? 'TokenizersBackend';
}

const root = mkdtempSync(join(tmpdir(), 'intuitor-hf-tokenizer-'));
after(() => rmSync(root, { recursive: true, force: true }));
const quiet = { stdout: { write: () => true }, stderr: { write: () => true } } as never;
const readJson = (path: string): Json => JSON.parse(readFileSync(path, 'utf8'));
const arithTiny = fileURLToPath(new URL('../../models/arith-tiny/', import.meta.url));
const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

async function init(name: string, configJson?: Json, tokenizer?: string): Promise<string> {
  const out = join(root, name);
  const args = ['init', '--output', out];
  if (configJson) {
    writeFileSync(join(root, `${name}.config.json`), JSON.stringify(configJson));
    args.push('--model-config', join(root, `${name}.config.json`));
  }
  if (tokenizer) args.push('--tokenizer', tokenizer);
  assert.equal(await main(args, quiet), 0, `init ${name}`);
  return out;
}

test('the rules reproduce the reported failure: a generic tokenizer_class beside qwen2 becomes Qwen2Tokenizer in 5.x', () => {
  const { auto_map: _a, ...before } = readJson(join(arithTiny, 'tokenizer_config.json'));
  assert.equal(autoTokenizerClass(4, before, 'qwen2'), 'PreTrainedTokenizerFast');
  assert.equal(autoTokenizerClass(5, before, 'qwen2'), 'Qwen2Tokenizer');
  assert.equal(autoTokenizerClass(5, before, 'llama'), 'TokenizersBackend', 'only the listed model types are overridden');
  assert.deepEqual(MODEL_TYPES_WITH_FORCED_TOKENIZER, forcedIn5);
  // and a real Qwen tokenizer_config still gets its own class
  const qwen = readJson(join(fixtures, 'qwen2-tiny', 'tokenizer_config.json'));
  assert.equal(autoTokenizerClass(5, qwen, 'qwen2'), 'Qwen2Tokenizer');
});

// New models from `intuitor init` with the built-in word tokenizer, one per model type.
const llamaDir = await init('llama', { ...savedConfigs['5.18.0']['llama-linear'], max_position_embeddings: 256 });
const folders: [string, string][] = [
  [arithTiny, 'qwen2'],
  [await init('qwen2-preset'), 'qwen2'],
  [llamaDir, 'llama'],
  [await init('qwen3', savedConfigs['5.18.0']['qwen3-yarn']), 'qwen3'],
  [await init('mistral', savedConfigs['4.57.6'].mistral), 'mistral'],
];

test('models/arith-tiny and new models load as the generic tokenizer in transformers 4 and 5', () => {
  for (const [dir, modelType] of folders) {
    const config = readJson(join(dir, 'config.json'));
    assert.equal(config.model_type, modelType);
    const tokenizerConfig = readJson(join(dir, 'tokenizer_config.json'));
    for (const major of [4, 5] as const) assert.equal(autoTokenizerClass(major, tokenizerConfig, modelType), generic[major], `${dir}: transformers ${major}`);
    // the auto_map only where 5.x needs it (with trust_remote_code=True it cannot load)
    assert.equal('auto_map' in tokenizerConfig, forcedIn5.includes(modelType), `${dir}: auto_map`);
  }
});

test('special tokens, model_max_length and chat template are where transformers reads them', () => {
  for (const [dir, context] of [[arithTiny, 512], [llamaDir, 256]] as const) {
    const config = readJson(join(dir, 'config.json'));
    const tokenizerConfig = readJson(join(dir, 'tokenizer_config.json'));
    const added = new Map((readJson(join(dir, 'tokenizer.json')).added_tokens as Json[]).map((t) => [t.content as string, t]));
    const idOf = (key: string) => added.get(tokenizerConfig[key])?.id;
    assert.equal(idOf('eos_token'), config.eos_token_id, `${dir}: eos_token is config.json's eos_token_id`);
    assert.equal(idOf('pad_token'), config.pad_token_id, `${dir}: pad_token is config.json's pad_token_id`);
    assert.equal(tokenizerConfig.bos_token, null, 'no BOS token: nothing is prepended');
    for (const key of ['eos_token', 'pad_token', 'unk_token']) assert.equal(added.get(tokenizerConfig[key])?.special, true, `${key} is a special added token`);
    // added_tokens_decoder mirrors tokenizer.json's added tokens, id for id
    for (const [id, entry] of Object.entries(tokenizerConfig.added_tokens_decoder as Record<string, Json>)) {
      assert.equal(added.get(entry.content)?.id, Number(id));
    }
    assert.equal(tokenizerConfig.model_max_length, context, 'model_max_length is the model context');
    assert.equal(config.max_position_embeddings, context);
    assert.equal(tokenizerConfig.clean_up_tokenization_spaces, false, 'decode must not remove spaces before punctuation');
    // the template lives in tokenizer_config.json (read by 4.34+); no chat_template.jinja that would override it
    assert.equal(tokenizerConfig.chat_template, CHATML_TEMPLATE);
    assert.equal(existsSync(join(dir, 'chat_template.jinja')), false);
  }
});

test("a real model's tokenizer_config.json is copied byte for byte", async () => {
  const small = { ...savedConfigs['5.18.0'].qwen2, hidden_size: 8, intermediate_size: 16, num_attention_heads: 2, num_key_value_heads: 1 };
  const out = await init('qwen-tokenizer', small, join(fixtures, 'qwen2-tiny'));
  for (const file of ['tokenizer_config.json', 'tokenizer.json']) {
    assert.deepEqual(readFileSync(join(out, file)), readFileSync(join(fixtures, 'qwen2-tiny', file)), file);
  }
});
