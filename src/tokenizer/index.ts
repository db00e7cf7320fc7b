// intuitor's tokenizer layer: Hugging Face tokenizer folders (tokenizer.json, tokenizer_config.json)
// for encoding, decoding and chat templates.
//
//   import { Tokenizer } from './tokenizer/index.ts';
//   const tok = await Tokenizer.fromDir(modelDir);
//   const prompt = tok.applyChatTemplate(messages, { addGenerationPrompt: true });   // token ids

export {
  Tokenizer,
  cleanUpTokenization,
  type AddedTokenInfo,
  type DecodeOptions,
  type EncodeOptions,
} from './tokenizer.ts';
export {
  ChatTemplateError,
  renderChatTemplate,
  selectChatTemplate,
  strftime,
  type ChatMessage,
  type ChatTemplateOptions,
  type RenderContext,
} from './chat-template.ts';
export {
  readTokenizerFiles,
  type NamedChatTemplate,
  type SpecialTokenValue,
  type TokenizerConfigJson,
  type TokenizerFiles,
  type TokenizerJson,
} from './config-files.ts';
export { SPECIAL_TOKEN_KEYS, type NamedSpecialToken, type SpecialTokenKey } from './special-tokens.ts';
