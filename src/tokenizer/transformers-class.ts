// Which tokenizer class transformers' AutoTokenizer builds for a tokenizer folder, and the
// tokenizer_config.json fields that make it build the generic one that runs tokenizer.json as it
// is (PreTrainedTokenizerFast in transformers 4, TokenizersBackend in 5) for the tokenizers we write.
//
// How AutoTokenizer.from_pretrained picks the class (models/auto/tokenization_auto.py):
// - 4.x: tokenizer_config.json's "tokenizer_class" wins; without it, the class registered for
//   config.json's model_type (Qwen2TokenizerFast for qwen2/qwen3, LlamaTokenizerFast for llama).
// - 5.x: when "tokenizer_class" differs from the class registered for the model_type, the file is
//   trusted, except for model types on transformers' list of checkpoints known to name a wrong
//   class (MODELS_WITH_INCORRECT_HUB_TOKENIZER_CLASS), which includes qwen2: there the registered
//   Qwen2Tokenizer is built instead, and it rebuilds a byte-level BPE from tokenizer.json's vocab,
//   which turns a word-level tokenizer into wrong ids. That override is skipped when the file has an
//   "auto_map" for AutoTokenizer; without trust_remote_code, 5.x then drops the auto_map for listed
//   model types and 4.x ignores it because the model type has local code, and both use
//   "tokenizer_class". So the escape is an auto_map that names the same generic class.
//   Its cost: with trust_remote_code=True both versions try to import that name as remote code and
//   fail, so the auto_map is written only for the model types that need it.

/** transformers' generic fast class; 5.x maps the name to TokenizersBackend. */
export const GENERIC_TOKENIZER_CLASS = 'PreTrainedTokenizerFast';

/** Supported model types whose registered tokenizer transformers 5 forces over a generic tokenizer_class. */
export const MODEL_TYPES_WITH_FORCED_TOKENIZER: readonly string[] = ['qwen2'];

/**
 * tokenizer_config.json fields that make AutoTokenizer load the folder's tokenizer.json as it is
 * beside a config.json of `modelType`, in transformers 4.4x to 5.x.
 */
export function genericTokenizerClassFields(modelType: string): Record<string, unknown> {
  return {
    tokenizer_class: GENERIC_TOKENIZER_CLASS,
    ...(MODEL_TYPES_WITH_FORCED_TOKENIZER.includes(modelType) ? { auto_map: { AutoTokenizer: [null, GENERIC_TOKENIZER_CLASS] } } : {}),
  };
}
