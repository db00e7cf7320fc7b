// Reading a Hugging Face tokenizer folder: tokenizer.json, tokenizer_config.json and the optional
// special_tokens_map.json and chat_template.jinja. Every problem becomes an Error that names the file
// and says what is wrong with it; nothing here knows how to tokenize.

import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One entry of tokenizer.json's `added_tokens`. */
export interface AddedTokenJson {
  id: number;
  content: string;
  special: boolean;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
}

/** The parts of tokenizer.json that intuitor reads itself (the rest goes to @huggingface/tokenizers). */
export interface TokenizerJson {
  model: { type?: string; vocab?: unknown; [key: string]: unknown };
  added_tokens: AddedTokenJson[];
  [key: string]: unknown;
}

/** A special token as tokenizer_config.json writes it: a string, an AddedToken object, or null. */
export type SpecialTokenValue = string | { content: string; [key: string]: unknown } | null | undefined;

/** A named chat template, as tokenizer_config.json stores several. */
export interface NamedChatTemplate {
  name: string;
  template: string;
}

/** The keys of tokenizer_config.json that intuitor reads; others are kept as they are. */
export interface TokenizerConfigJson {
  bos_token?: SpecialTokenValue;
  eos_token?: SpecialTokenValue;
  pad_token?: SpecialTokenValue;
  unk_token?: SpecialTokenValue;
  chat_template?: string | NamedChatTemplate[] | null;
  clean_up_tokenization_spaces?: boolean;
  [key: string]: unknown;
}

/** Everything read from a tokenizer folder, validated. */
export interface TokenizerFiles {
  /** The folder, as an absolute path. */
  dir: string;
  tokenizerJson: TokenizerJson;
  config: TokenizerConfigJson;
  /** special_tokens_map.json when the folder has one. */
  specialTokensMap: Record<string, SpecialTokenValue> | undefined;
  /** chat_template.jinja when the folder has one (newer transformers save the template there). */
  chatTemplateFile: string | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const describe = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;

/** A folder given as a path or a file: URL, as an absolute path. */
export function dirPath(dir: string | URL): string {
  if (dir instanceof URL) return resolve(fileURLToPath(dir));
  if (typeof dir !== 'string' || dir === '') {
    throw new TypeError(`Tokenizer.fromDir: expected a folder path or file: URL, got ${describe(dir)}`);
  }
  return resolve(dir.startsWith('file:') ? fileURLToPath(dir) : dir);
}

async function readText(path: string, required: boolean): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return undefined;
    if (code === 'ENOENT') {
      throw new Error(`${path}: file not found (a tokenizer folder needs tokenizer.json and tokenizer_config.json)`);
    }
    throw new Error(`${path}: cannot read the file: ${(err as Error).message}`, { cause: err });
  }
}

function parseJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: malformed JSON: ${(err as Error).message}`, { cause: err });
  }
}

function checkSpecialToken(path: string, key: string, value: unknown): void {
  if (value === undefined || value === null || typeof value === 'string') return;
  if (isObject(value) && typeof value.content === 'string') return;
  throw new Error(`${path}: "${key}" must be a string, null or an object with a string "content", got ${describe(value)}`);
}

/** Checks the structure of tokenizer.json that the rest of the code relies on. */
export function validateTokenizerJson(path: string, json: unknown): TokenizerJson {
  if (!isObject(json)) throw new Error(`${path}: expected a JSON object (a Hugging Face tokenizers file), got ${describe(json)}`);
  if (!isObject(json.model)) {
    throw new Error(`${path}: missing "model" object (is this a Hugging Face tokenizers file?)`);
  }
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) throw new Error(`${path}: "added_tokens" must be an array, got ${describe(added)}`);
  added.forEach((t: unknown, i) => {
    if (!isObject(t) || !Number.isInteger(t.id) || (t.id as number) < 0 || typeof t.content !== 'string') {
      throw new Error(`${path}: added_tokens[${i}] must have an integer "id" >= 0 and a string "content"`);
    }
  });
  return { ...json, model: json.model, added_tokens: added as AddedTokenJson[] };
}

/** tokenizer.json read synchronously and validated (for the vocabulary check when a model loads). */
export function readTokenizerJsonSync(path: string): TokenizerJson {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${path}: cannot read the file: ${(err as Error).message}`, { cause: err });
  }
  return validateTokenizerJson(path, parseJson(path, text));
}

/** Number of token ids: one past the largest id of the vocabulary and the added tokens. */
export function tokenIdCount(json: TokenizerJson): number {
  const vocab = json.model.vocab;
  let size = 0;
  if (Array.isArray(vocab)) size = vocab.length;
  else if (isObject(vocab)) {
    for (const id of Object.values(vocab)) if (typeof id === 'number' && id >= size) size = id + 1;
  }
  for (const t of json.added_tokens) if (t.id >= size) size = t.id + 1;
  return size;
}

/** Checks the keys of tokenizer_config.json that intuitor uses. */
export function validateTokenizerConfig(path: string, json: unknown): TokenizerConfigJson {
  if (!isObject(json)) throw new Error(`${path}: expected a JSON object, got ${describe(json)}`);
  for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) checkSpecialToken(path, key, json[key]);
  const t = json.chat_template;
  const namedOk = Array.isArray(t) && t.every((e) => isObject(e) && typeof e.name === 'string' && typeof e.template === 'string');
  if (t !== undefined && t !== null && typeof t !== 'string' && !namedOk) {
    throw new Error(`${path}: "chat_template" must be a string or a list of {"name", "template"} objects, got ${describe(t)}`);
  }
  return json as TokenizerConfigJson;
}

/** Reads and validates the tokenizer files of `dir`. */
export async function readTokenizerFiles(dir: string | URL): Promise<TokenizerFiles> {
  const abs = dirPath(dir);
  let isDir = false;
  try {
    isDir = (await stat(abs)).isDirectory();
  } catch {
    throw new Error(`Tokenizer.fromDir: folder ${abs} does not exist`);
  }
  if (!isDir) throw new Error(`Tokenizer.fromDir: ${abs} is not a folder`);

  const tokPath = join(abs, 'tokenizer.json');
  const cfgPath = join(abs, 'tokenizer_config.json');
  const mapPath = join(abs, 'special_tokens_map.json');
  const [tokText, cfgText, mapText, chatTemplateFile] = await Promise.all([
    readText(tokPath, true),
    readText(cfgPath, true),
    readText(mapPath, false),
    readText(join(abs, 'chat_template.jinja'), false),
  ]);

  const tokenizerJson = validateTokenizerJson(tokPath, parseJson(tokPath, tokText!));
  const config = validateTokenizerConfig(cfgPath, parseJson(cfgPath, cfgText!));
  let specialTokensMap: Record<string, SpecialTokenValue> | undefined;
  if (mapText !== undefined) {
    const map = parseJson(mapPath, mapText);
    if (!isObject(map)) throw new Error(`${mapPath}: expected a JSON object, got ${describe(map)}`);
    for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) checkSpecialToken(mapPath, key, map[key]);
    specialTokensMap = map as Record<string, SpecialTokenValue>;
  }
  return { dir: abs, tokenizerJson, config, specialTokensMap, chatTemplateFile };
}
