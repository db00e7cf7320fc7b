// A Hugging Face tokenizer folder as one object: tokenizer.json runs in @huggingface/tokenizers (pure JS,
// checked against the Rust `tokenizers` binding in the tests), tokenizer_config.json gives the named
// special tokens and the chat template.
//
//   const tok = await Tokenizer.fromDir('/models/qwen3');
//   const ids = tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true });
//   tok.decode(ids, { skipSpecialTokens: true });
//
// encode/decode follow the Rust library (tokenizer.json's post-processor decides which special tokens
// addSpecialTokens adds; decode drops ids that have no token), except that decode can also apply
// transformers' clean_up_tokenization on request.

import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { resolveModelDir } from '../model/hub-cache.ts';
import {
  readTokenizerFiles,
  tokenIdCount,
  validateTokenizerConfig,
  validateTokenizerJson,
  type NamedChatTemplate,
  type SpecialTokenValue,
  type TokenizerConfigJson,
  type TokenizerFiles,
} from './config-files.ts';
import { resolveNamedSpecialTokens, type NamedSpecialTokens } from './special-tokens.ts';
import {
  buildMessages,
  renderChatTemplate,
  selectChatTemplate,
  type ChatMessage,
  type ChatTemplateOptions,
} from './chat-template.ts';

export interface EncodeOptions {
  /** Add what tokenizer.json's post-processor adds (e.g. a BOS token); default true, as in transformers. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop added tokens marked special in tokenizer.json; default false. */
  skipSpecialTokens?: boolean;
  /** Apply transformers' clean_up_tokenization (" ." -> ".", " n't" -> "n't", ...); default false. */
  cleanUpTokenizationSpaces?: boolean;
}

/** One entry of tokenizer.json's added_tokens. */
export interface AddedTokenInfo {
  id: number;
  content: string;
  special: boolean;
}

/** What intuitor uses of @huggingface/tokenizers (its published types do not resolve under NodeNext). */
interface JsTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] };
  decode(ids: number[], options: { skip_special_tokens: boolean; clean_up_tokenization_spaces: boolean }): string;
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
}
const JsTokenizerClass = HfTokenizer as unknown as new (json: object, config: object) => JsTokenizer;

/** transformers' PreTrainedTokenizerBase.clean_up_tokenization. */
export function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(' .', '.').replaceAll(' ?', '?').replaceAll(' !', '!').replaceAll(' ,', ',')
    .replaceAll(" ' ", "'").replaceAll(" n't", "n't").replaceAll(" 'm", "'m").replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve").replaceAll(" 're", "'re");
}

export class Tokenizer {
  /** The folder it was loaded from (absolute), or a name given to fromJSON; used in error messages. */
  readonly source: string;
  /** Number of token ids: one past the largest id of the vocabulary and the added tokens. */
  readonly vocabSize: number;
  readonly bosToken: string | undefined;
  readonly bosTokenId: number | undefined;
  readonly eosToken: string | undefined;
  readonly eosTokenId: number | undefined;
  readonly padToken: string | undefined;
  readonly padTokenId: number | undefined;
  readonly unkToken: string | undefined;
  readonly unkTokenId: number | undefined;
  /** Ids that end generation according to tokenizer_config's eos_token (generation_config may add more). */
  readonly eosTokenIds: readonly number[];
  /** tokenizer.json's added tokens, in id order. */
  readonly addedTokens: readonly AddedTokenInfo[];
  /** Ids of the added tokens marked special: the ones skipSpecialTokens drops. */
  readonly specialTokenIds: readonly number[];
  /** The stored chat template(s): chat_template.jinja, else tokenizer_config.json's chat_template. */
  readonly chatTemplate: string | readonly NamedChatTemplate[] | undefined;
  /** tokenizer_config.json as read (with special_tokens_map.json not merged in). */
  readonly config: Readonly<TokenizerConfigJson>;

  readonly #js: JsTokenizer;
  readonly #specialIds: Set<number>;
  readonly #templateTokens: Record<string, string | string[]>;

  private constructor(files: TokenizerFiles, source: string) {
    this.source = source;
    try {
      this.#js = new JsTokenizerClass(files.tokenizerJson, files.config);
    } catch (err) {
      throw new Error(`${join(files.dir, 'tokenizer.json')}: cannot build the tokenizer: ${(err as Error).message}`, { cause: err });
    }
    this.vocabSize = tokenIdCount(files.tokenizerJson);
    this.config = files.config;
    this.addedTokens = files.tokenizerJson.added_tokens
      .map((t) => ({ id: t.id, content: t.content, special: t.special === true }))
      .sort((a, b) => a.id - b.id);
    this.specialTokenIds = this.addedTokens.filter((t) => t.special).map((t) => t.id);
    this.#specialIds = new Set(this.specialTokenIds);

    const named: NamedSpecialTokens = resolveNamedSpecialTokens(files, (t) => this.tokenToId(t));
    this.bosToken = named.bos_token?.token;
    this.bosTokenId = named.bos_token?.id;
    this.eosToken = named.eos_token?.token;
    this.eosTokenId = named.eos_token?.id;
    this.padToken = named.pad_token?.token;
    this.padTokenId = named.pad_token?.id;
    this.unkToken = named.unk_token?.token;
    this.unkTokenId = named.unk_token?.id;
    this.eosTokenIds = this.eosTokenId === undefined ? [] : [this.eosTokenId];

    this.#templateTokens = {};
    for (const [key, value] of Object.entries(named)) this.#templateTokens[key] = value.token;
    const extra = files.specialTokensMap?.additional_special_tokens ?? files.config.additional_special_tokens;
    if (Array.isArray(extra)) {
      this.#templateTokens.additional_special_tokens = extra
        .map((v: SpecialTokenValue) => (typeof v === 'string' ? v : v?.content))
        .filter((v): v is string => typeof v === 'string');
    }
    const stored = files.chatTemplateFile ?? files.config.chat_template ?? undefined;
    this.chatTemplate = stored === null ? undefined : stored;
  }

  /**
   * Loads tokenizer.json and tokenizer_config.json (both required) and, when present,
   * special_tokens_map.json and chat_template.jinja from a folder (a path or a file: URL), or from
   * a model named ORG/NAME[@revision] in the Hugging Face cache.
   */
  static async fromDir(dir: string | URL): Promise<Tokenizer> {
    const byName = typeof dir === 'string' && dir !== '' && !dir.startsWith('file:');
    const files = await readTokenizerFiles(byName ? resolveModelDir(dir, process.env, ['tokenizer']) : dir);
    return new Tokenizer(files, files.dir);
  }

  /**
   * Builds a tokenizer from already-parsed tokenizer.json and tokenizer_config.json contents; `name`
   * stands for the folder in error messages.
   */
  static fromJSON(
    tokenizerJson: unknown,
    tokenizerConfig: unknown,
    options: { name?: string; specialTokensMap?: Record<string, SpecialTokenValue>; chatTemplate?: string } = {},
  ): Tokenizer {
    const name = options.name ?? '<in-memory tokenizer>';
    const files: TokenizerFiles = {
      dir: name,
      tokenizerJson: validateTokenizerJson(join(name, 'tokenizer.json'), tokenizerJson),
      config: validateTokenizerConfig(join(name, 'tokenizer_config.json'), tokenizerConfig),
      specialTokensMap: options.specialTokensMap,
      chatTemplateFile: options.chatTemplate,
    };
    return new Tokenizer(files, name);
  }

  /** Token ids of `text`. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TypeError(`encode: expected a string, got ${text === null ? 'null' : typeof text}`);
    return this.#js.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  /** encode for each text. */
  encodeBatch(texts: readonly string[], options: EncodeOptions = {}): number[][] {
    if (!Array.isArray(texts)) throw new TypeError('encodeBatch: expected an array of strings');
    return texts.map((t) => this.encode(t, options));
  }

  /**
   * Text of `ids` (numbers or bigints, e.g. a BigInt64Array from an int64 tensor). Ids that have no
   * token (e.g. padding rows of an embedding beyond vocabSize) are dropped, as the Rust library does.
   */
  decode(ids: ArrayLike<number | bigint>, options: DecodeOptions = {}): string {
    if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number') {
      throw new TypeError('decode: expected an array of token ids');
    }
    const skip = options.skipSpecialTokens ?? false;
    const kept: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const raw = ids[i];
      const id = typeof raw === 'bigint' ? Number(raw) : raw;
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
        throw new RangeError(`decode: token id at index ${i} must be an integer >= 0, got ${String(raw)}`);
      }
      if (id >= this.vocabSize || (skip && this.#specialIds.has(id))) continue;
      if (this.#js.id_to_token(id) === undefined) continue;
      kept.push(id);
    }
    if (kept.length === 0) return '';
    const text = this.#js.decode(kept, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
    return options.cleanUpTokenizationSpaces ? cleanUpTokenization(text) : text;
  }

  /** decode for each sequence. */
  decodeBatch(batch: readonly ArrayLike<number | bigint>[], options: DecodeOptions = {}): string[] {
    if (!Array.isArray(batch)) throw new TypeError('decodeBatch: expected an array of id sequences');
    return batch.map((ids) => this.decode(ids, options));
  }

  /** The id of a token (as it appears in the vocabulary, e.g. "Ġthe" or "<|im_end|>"), or undefined. */
  tokenToId(token: string): number | undefined {
    return typeof token === 'string' ? this.#js.token_to_id(token) : undefined;
  }

  /** The token of an id, or undefined when the id has none. */
  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.#js.id_to_token(id) : undefined;
  }

  /** Whether the id is an added token marked special. */
  isSpecialId(id: number): boolean {
    return this.#specialIds.has(id);
  }

  /** Whether a stored chat template exists (applyChatTemplate can still take one in its options). */
  get hasChatTemplate(): boolean {
    return this.chatTemplate !== undefined;
  }

  /**
   * transformers' apply_chat_template: renders the conversation with the stored (or given) template and,
   * unless `tokenize: false`, encodes the text without adding special tokens.
   */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions & { tokenize: false }): string;
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions & { tokenize?: true }): number[];
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): string | number[];
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string | number[] {
    const template = selectChatTemplate(this.source, this.chatTemplate, options);
    const source = options.chatTemplate !== undefined ? `${this.source} (chat template given in options)` : this.source;
    const text = renderChatTemplate(source, template, {
      messages: buildMessages(messages, options.systemPrompt),
      addGenerationPrompt: options.addGenerationPrompt ?? false,
      tools: options.tools,
      documents: options.documents,
      specialTokens: this.#templateTokens,
      variables: options.variables,
    });
    return options.tokenize === false ? text : this.encode(text, { addSpecialTokens: false });
  }
}
