// The named special tokens (bos, eos, pad, unk) of a tokenizer folder, with transformers' rules:
// tokenizer_config.json declares them, special_tokens_map.json (when present) overrides it, a value is a
// string or an AddedToken object ({"content": ...}), and null means "not defined".

import { join } from 'node:path';
import type { SpecialTokenValue, TokenizerFiles } from './config-files.ts';

/** The four named special tokens that transformers passes to chat templates and uses in generation. */
export const SPECIAL_TOKEN_KEYS = ['bos_token', 'eos_token', 'pad_token', 'unk_token'] as const;
export type SpecialTokenKey = (typeof SPECIAL_TOKEN_KEYS)[number];

/** A defined special token: its text and its id. */
export interface NamedSpecialToken {
  token: string;
  id: number;
}

export type NamedSpecialTokens = Partial<Record<SpecialTokenKey, NamedSpecialToken>>;

function tokenText(value: SpecialTokenValue): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : value.content;
}

/**
 * Resolves bos/eos/pad/unk to text and id. A token that the configuration names but the vocabulary
 * lacks is an error naming the file and key (transformers would silently grow the vocabulary, which
 * would give the model an id it has no embedding for).
 */
export function resolveNamedSpecialTokens(
  files: TokenizerFiles,
  tokenToId: (token: string) => number | undefined,
): NamedSpecialTokens {
  const out: NamedSpecialTokens = {};
  for (const key of SPECIAL_TOKEN_KEYS) {
    const fromMap = files.specialTokensMap !== undefined && key in files.specialTokensMap;
    const value = fromMap ? files.specialTokensMap![key] : files.config[key];
    const token = tokenText(value);
    if (token === undefined) continue;
    const id = tokenToId(token);
    if (id === undefined) {
      const file = join(files.dir, fromMap ? 'special_tokens_map.json' : 'tokenizer_config.json');
      throw new Error(`${file}: ${key} ${JSON.stringify(token)} is not a token of tokenizer.json`);
    }
    out[key] = { token, id };
  }
  return out;
}
