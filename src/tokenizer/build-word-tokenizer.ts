// A small word-level Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) for tiny models
// on closed-vocabulary tasks such as the built-in arith problems: one token per known word, per digit,
// per punctuation character and per whitespace character, plus ChatML special tokens.
//
// Why this shape: a WordLevel model with a Split pre-tokenizer (behavior "Isolated") keeps every
// piece of the text, spaces included, as its own token, and the Fuse decoder concatenates tokens
// as they are. So decode(encode(text)) === text for any text made of known words, digits,
// punctuation and whitespace, in both @huggingface/tokenizers and the Rust `tokenizers` library.
// Digits are single tokens so that numbers are spelled digit by digit (small models do arithmetic
// better that way). Unknown letter runs become <unk>.
//
// tokenizer_config.json is written for transformers too (transformers-class.ts): the generic class
// (and, for model types where transformers 5 would force its own class, an auto_map), the named
// special tokens, model_max_length = the model's max_position_embeddings, and the chat template
// inside tokenizer_config.json, where every transformers version from 4.34 on reads it (a separate
// chat_template.jinja is read only from 4.4x on).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARITH_VOCABULARY } from '../data/arith.ts';
import { SOLUTION_STYLE_WORDS } from '../data/arith-solution-styles.ts';
import { BOXED_INSTRUCTION } from '../rl/prompt.ts';
import { genericTokenizerClassFields } from './transformers-class.ts';

export const CHATML_TEMPLATE =
  "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

/** The special tokens, in id order from 0: end of text (padding), ChatML start/end, unknown. */
export const WORD_TOKENIZER_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<unk>'] as const;

/** Printable ASCII punctuation, one token each. */
const PUNCTUATION = [...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'];
const WHITESPACE = [' ', '\n', '\t'];
const DIGITS = [...'0123456789'];
/** A run of letters, or any other single character (digit, punctuation, whitespace). */
const SPLIT_PATTERN = '[A-Za-z]+|[^A-Za-z]';

export interface WordTokenizerOptions {
  /** the specials, in id order from 0 (default WORD_TOKENIZER_SPECIALS) */
  specials?: readonly string[];
  /** config.json's model_type of the model the tokenizer is for (default qwen2) */
  modelType?: string;
  /** the model's max_position_embeddings (default 512) */
  modelMaxLength?: number;
}

export interface WordTokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

/**
 * Builds the two files. `words` are letter-only words (duplicates ignored); the specials come first
 * (ids 0..), the first is the pad token, and the one named "<|im_end|>" (else the first) is EOS.
 */
export function buildWordTokenizer(words: readonly string[], options: WordTokenizerOptions = {}): WordTokenizerFiles {
  const specials = options.specials ?? WORD_TOKENIZER_SPECIALS;
  for (const w of words) if (!/^[A-Za-z]+$/.test(w)) throw new Error(`buildWordTokenizer: "${w}" is not a word of letters only`);
  if (specials.length === 0) throw new Error('buildWordTokenizer: at least one special token (the pad token) is needed');
  const tokens = [...new Set([...specials, ...WHITESPACE, ...DIGITS, ...PUNCTUATION, ...[...words].sort()])];
  const vocab = Object.fromEntries(tokens.map((t, id) => [t, id]));
  const unk = specials.includes('<unk>') ? '<unk>' : specials[0]!;
  const eos = specials.includes('<|im_end|>') ? '<|im_end|>' : specials[0]!;
  const added = specials.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'Split', pattern: { Regex: SPLIT_PATTERN }, behavior: 'Isolated', invert: false },
    post_processor: null,
    decoder: { type: 'Fuse' },
    model: { type: 'WordLevel', vocab, unk_token: unk },
  };
  const tokenizerConfig = {
    added_tokens_decoder: Object.fromEntries(added.map(({ id, ...rest }) => [String(id), rest])),
    bos_token: null,
    eos_token: eos,
    pad_token: specials[0],
    unk_token: unk,
    chat_template: CHATML_TEMPLATE,
    clean_up_tokenization_spaces: false,
    model_max_length: options.modelMaxLength ?? 512,
    ...genericTokenizerClassFields(options.modelType ?? 'qwen2'),
  };
  return { tokenizerJson, tokenizerConfig };
}

/** The words of the arith task: its vocabulary, the solution styles' words (carry, borrow), the arith-tiny instruction's words and the chat roles. */
export function arithTokenizerWords(): string[] {
  const instructionWords = BOXED_INSTRUCTION.match(/[A-Za-z]+/g) ?? [];
  return [...new Set([...ARITH_VOCABULARY, ...SOLUTION_STYLE_WORDS, ...instructionWords, 'user', 'assistant', 'system'])];
}

/** Writes tokenizer.json and tokenizer_config.json into `dir` (created if missing). */
export function writeWordTokenizer(dir: string, files: WordTokenizerFiles): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), `${JSON.stringify(files.tokenizerJson, null, 2)}\n`);
  writeFileSync(join(dir, 'tokenizer_config.json'), `${JSON.stringify(files.tokenizerConfig, null, 2)}\n`);
}
