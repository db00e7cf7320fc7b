// Loading errors name the file and what is wrong with it; bad arguments to encode/decode are clear errors;
// special_tokens_map.json overrides tokenizer_config.json as in transformers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../../src/tokenizer/index.ts';

const LLAMA = fileURLToPath(new URL('../fixtures/llama-tiny/', import.meta.url));
const LLAMA_CONFIG = JSON.parse(await readFile(join(LLAMA, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
const scratch = await mkdtemp(join(tmpdir(), 'intuitor-tok-errors-'));
after(() => rm(scratch, { recursive: true, force: true }));

let counter = 0;
/** A new folder under scratch; `files` maps a name to its text, or to 'LINK' for llama-tiny's file of that name. */
async function folder(files: Record<string, string>): Promise<string> {
  const dir = join(scratch, `case-${counter++}`);
  await mkdir(dir);
  for (const [name, text] of Object.entries(files)) {
    if (text === 'LINK') await symlink(join(LLAMA, name), join(dir, name));
    else await writeFile(join(dir, name), text);
  }
  return dir;
}

const config = (patch: Record<string, unknown>) => JSON.stringify({ ...LLAMA_CONFIG, ...patch });
const MINIMAL_JSON = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [] };
/** A five-token BPE tokenizer.json with llama-tiny's bos/eos/eot names, quicker to load than the fixture. */
const added = (id: number, content: string) => ({ id, content, special: true, single_word: false, lstrip: false, rstrip: false, normalized: false });
const TINY = JSON.stringify({
  ...MINIMAL_JSON,
  added_tokens: [added(3, '<|begin_of_text|>'), added(4, '<|end_of_text|>'), added(5, '<|eot_id|>')],
  model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2 }, merges: ['a b'] },
});

test('a missing folder, or a file given as the folder', async () => {
  const missing = join(scratch, 'nope');
  await assert.rejects(Tokenizer.fromDir(missing), { message: `Tokenizer.fromDir: folder ${missing} does not exist` });
  const file = join(await folder({ 'x.txt': 'x' }), 'x.txt');
  await assert.rejects(Tokenizer.fromDir(file), { message: `Tokenizer.fromDir: ${file} is not a folder` });
  await assert.rejects(Tokenizer.fromDir(''), { name: 'TypeError', message: 'Tokenizer.fromDir: expected a folder path or file: URL, got string ""' });
});

test('missing tokenizer.json or tokenizer_config.json', async () => {
  const noTok = await folder({ 'tokenizer_config.json': config({}) });
  await assert.rejects(Tokenizer.fromDir(noTok), {
    message: `${noTok}/tokenizer.json: file not found (a tokenizer folder needs tokenizer.json and tokenizer_config.json)`,
  });
  const noCfg = await folder({ 'tokenizer.json': 'LINK' });
  await assert.rejects(Tokenizer.fromDir(noCfg), {
    message: `${noCfg}/tokenizer_config.json: file not found (a tokenizer folder needs tokenizer.json and tokenizer_config.json)`,
  });
});

test('malformed JSON names the file', async () => {
  const badTok = await folder({ 'tokenizer.json': '{"model": {', 'tokenizer_config.json': config({}) });
  await assert.rejects(Tokenizer.fromDir(badTok), (err: Error) => {
    assert.ok(err.message.startsWith(`${badTok}/tokenizer.json: malformed JSON: `), err.message);
    assert.ok(err.cause instanceof SyntaxError);
    return true;
  });
  const badCfg = await folder({ 'tokenizer.json': TINY, 'tokenizer_config.json': '{"eos_token": "<|end_of_text|>",}' });
  await assert.rejects(Tokenizer.fromDir(badCfg), (err: Error) => {
    assert.ok(err.message.startsWith(`${badCfg}/tokenizer_config.json: malformed JSON: `), err.message);
    return true;
  });
  const badMap = await folder({ 'tokenizer.json': TINY, 'tokenizer_config.json': config({}), 'special_tokens_map.json': '[' });
  await assert.rejects(Tokenizer.fromDir(badMap), { message: new RegExp(`^${badMap}/special_tokens_map\\.json: malformed JSON: `) });
});

test('tokenizer.json with the wrong structure', async () => {
  const cases: [unknown, string][] = [
    [[1, 2], 'expected a JSON object (a Hugging Face tokenizers file), got an array'],
    [{ version: '1.0' }, 'missing "model" object (is this a Hugging Face tokenizers file?)'],
    [{ model: { type: 'BPE' }, added_tokens: {} }, '"added_tokens" must be an array, got an object'],
    [{ model: { type: 'BPE' }, added_tokens: [{ id: -1, content: 'x' }] }, 'added_tokens[0] must have an integer "id" >= 0 and a string "content"'],
    [{ ...MINIMAL_JSON, model: { type: 'Foo' } }, 'cannot build the tokenizer: Unknown TokenizerModel type: Foo'],
    [{ model: { type: 'BPE', vocab: { a: 0 }, merges: [] } }, 'cannot build the tokenizer: Tokenizer must contain a "decoder" property'],
  ];
  for (const [json, message] of cases) {
    const dir = await folder({ 'tokenizer.json': JSON.stringify(json), 'tokenizer_config.json': '{}' });
    await assert.rejects(Tokenizer.fromDir(dir), { message: `${dir}/tokenizer.json: ${message}` });
  }
});

test('tokenizer_config.json with the wrong structure', async () => {
  const cases: [string, string][] = [
    ['[]', 'expected a JSON object, got an array'],
    ['"text"', 'expected a JSON object, got string "text"'],
    [config({ chat_template: 42 }), '"chat_template" must be a string or a list of {"name", "template"} objects, got number 42'],
    [config({ chat_template: [{ name: 'default' }] }), '"chat_template" must be a string or a list of {"name", "template"} objects, got an array'],
    [config({ eos_token: { id: 5 } }), '"eos_token" must be a string, null or an object with a string "content", got an object'],
    [config({ pad_token: 7 }), '"pad_token" must be a string, null or an object with a string "content", got number 7'],
    [config({ eos_token: '</s>' }), 'eos_token "</s>" is not a token of tokenizer.json'],
    [config({ unk_token: { content: '<unk>', special: true } }), 'unk_token "<unk>" is not a token of tokenizer.json'],
  ];
  for (const [text, message] of cases) {
    const dir = await folder({ 'tokenizer.json': TINY, 'tokenizer_config.json': text });
    await assert.rejects(Tokenizer.fromDir(dir), { message: `${dir}/tokenizer_config.json: ${message}` });
  }
});

test('special_tokens_map.json overrides tokenizer_config.json; AddedToken objects and null are understood', async () => {
  const dir = await folder({
    'tokenizer.json': TINY,
    'tokenizer_config.json': config({ eos_token: { __type: 'AddedToken', content: '<|end_of_text|>' }, pad_token: null }),
    'special_tokens_map.json': JSON.stringify({ eos_token: { content: '<|eot_id|>', special: true }, pad_token: '<|end_of_text|>' }),
  });
  const tok = await Tokenizer.fromDir(new URL(`file://${dir}/`));
  assert.equal(tok.source, dir);
  assert.equal(tok.eosToken, '<|eot_id|>');
  assert.deepEqual(tok.eosTokenIds, [5]);
  assert.equal(tok.padTokenId, 4);
  assert.equal(tok.bosTokenId, 3); // not in the map: tokenizer_config.json's
  assert.deepEqual(tok.encode('aab<|eot_id|>'), [0, 2, 5]);
  assert.equal(tok.vocabSize, 6);

  const cfgOnly = await folder({ 'tokenizer.json': TINY, 'tokenizer_config.json': config({ eos_token: { content: '<|eot_id|>' }, bos_token: null }) });
  const tok2 = await Tokenizer.fromDir(cfgOnly);
  assert.deepEqual(tok2.eosTokenIds, [5]);
  assert.equal(tok2.bosToken, undefined);

  const badMap = await folder({ 'tokenizer.json': TINY, 'tokenizer_config.json': config({}), 'special_tokens_map.json': '{"bos_token": "<s>"}' });
  await assert.rejects(Tokenizer.fromDir(badMap), { message: `${badMap}/special_tokens_map.json: bos_token "<s>" is not a token of tokenizer.json` });
});

test('fromJSON validates like fromDir, with the given name in messages', () => {
  assert.throws(() => Tokenizer.fromJSON({ version: '1.0' }, {}, { name: 'mem' }), {
    message: 'mem/tokenizer.json: missing "model" object (is this a Hugging Face tokenizers file?)',
  });
  assert.throws(() => Tokenizer.fromJSON({ ...MINIMAL_JSON, model: { type: 'BPE', vocab: { a: 0 }, merges: [] } }, null, { name: 'mem' }), {
    message: 'mem/tokenizer_config.json: expected a JSON object, got null',
  });
});

test('bad arguments to encode and decode', async () => {
  const tok = await Tokenizer.fromDir(LLAMA);
  assert.throws(() => tok.encode(42 as unknown as string), { name: 'TypeError', message: 'encode: expected a string, got number' });
  assert.throws(() => tok.encode(null as unknown as string), { name: 'TypeError', message: 'encode: expected a string, got null' });
  assert.throws(() => tok.encodeBatch('abc' as unknown as string[]), { name: 'TypeError', message: 'encodeBatch: expected an array of strings' });
  assert.throws(() => tok.decode([1, -3]), { name: 'RangeError', message: 'decode: token id at index 1 must be an integer >= 0, got -3' });
  assert.throws(() => tok.decode([1.5]), { name: 'RangeError', message: 'decode: token id at index 0 must be an integer >= 0, got 1.5' });
  assert.throws(() => tok.decode(['7'] as unknown as number[]), { name: 'RangeError', message: 'decode: token id at index 0 must be an integer >= 0, got 7' });
  assert.throws(() => tok.decode(undefined as unknown as number[]), { name: 'TypeError', message: 'decode: expected an array of token ids' });
  assert.equal(tok.idToToken(-1), undefined);
  assert.equal(tok.idToToken(1.5), undefined);
});
