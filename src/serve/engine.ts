// The real engine: a loaded causal LM and its tokenizer behind the Engine interface. Generation
// stops at the model's and the tokenizer's EOS ids (as `intuitor generate` does) and at the
// request's stop strings; its texts are decoded with special tokens skipped. Chat-template errors
// lose the tokenizer's folder (their prefix): they go to clients, who have no business with it.

import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { scoreTokenLogprobs } from '../certainty/token-logprobs.ts';
import { generate } from '../generate/generate.ts';
import { resolveModelSource } from '../model/hub-cache.ts';
import { loadModel, type LoadModelOptions } from '../model/load.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { ChatTemplateError, Tokenizer, type ChatMessage } from '../tokenizer/index.ts';
import type { Engine, EngineBatch, EngineSequence, PromptScores } from './types.ts';

export interface ModelEngine extends Engine {
  readonly model: CausalLM;
  readonly tokenizer: Tokenizer;
  /** frees the model's parameters; call once nothing generates any more */
  dispose(): void;
}

/**
 * NFKC, the most a tokenizer.json normalizer does, shrinks UTF-8 text at most 4-fold (a 4-byte
 * mathematical letter such as U+1D400 becomes one ASCII byte).
 */
const NORMALIZER_SHRINK = 4;

/**
 * An engine over a model and tokenizer already loaded (the caller keeps ownership of the model).
 * `privatePaths`: where they were loaded from (the tokenizer's folder is always included).
 */
export function createModelEngine(model: CausalLM, tokenizer: Tokenizer, modelId: string, privatePaths: readonly string[] = []): ModelEngine {
  const eosTokenIds = [...new Set([...model.config.eosTokenIds, ...tokenizer.eosTokenIds])];
  return {
    modelId,
    model,
    tokenizer,
    contextLength: model.config.maxPositionEmbeddings,
    vocabSize: model.config.vocabSize,
    get hasChatTemplate() {
      return tokenizer.hasChatTemplate;
    },
    maxBytesPerToken: longestTokenBytes(tokenizer) * NORMALIZER_SHRINK,
    privatePaths: [tokenizer.source, ...privatePaths],
    renderChat(messages: ChatMessage[]): string {
      try {
        return tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true, tokenize: false });
      } catch (error) {
        const prefix = `${tokenizer.source}: `;
        if (error instanceof ChatTemplateError && error.message.startsWith(prefix)) throw new ChatTemplateError(error.message.slice(prefix.length), { cause: error });
        throw error;
      }
    },
    encodeText: (text: string, options: { addSpecialTokens?: boolean } = {}) => tokenizer.encode(text, { addSpecialTokens: options.addSpecialTokens ?? true }),
    decode: (tokenIds: number[]) => tokenizer.decode(tokenIds, { skipSpecialTokens: true }),
    tokenTexts: (tokenIds: number[]) => tokenIds.map((id) => tokenizer.decode([id], { skipSpecialTokens: false })),
    scorePrompt(tokenIds: number[], topLogprobs: number): PromptScores {
      if (tokenIds.length < 2) return { logprobs: [], topLogprobs: topLogprobs > 0 ? [] : undefined };
      const [scores] = scoreTokenLogprobs(model, [{ prompt: tokenIds.slice(0, 1), response: tokenIds.slice(1) }], { topLogprobs });
      return scores!;
    },
    async generate(batch: EngineBatch): Promise<EngineSequence[]> {
      const onToken = batch.onToken;
      const sequences = await generate(model, batch.prompts, {
        maxNewTokens: batch.maxNewTokens,
        temperature: batch.temperature,
        topP: batch.topP,
        stop: batch.stop,
        frequencyPenalty: batch.frequencyPenalty,
        presencePenalty: batch.presencePenalty,
        ...(batch.topLogprobs ? { topLogprobs: batch.topLogprobs } : {}),
        eosTokenIds,
        tokenizer,
        ...(batch.seed !== undefined ? { seed: batch.seed } : {}),
        ...(onToken ? { onToken: ({ sequence, tokenId, logprob, topLogprobs }) => onToken(sequence, tokenId, topLogprobs ? { logprob, topLogprobs } : { logprob }) } : {}),
        ...(batch.isCancelled ? { isCancelled: batch.isCancelled } : {}),
      });
      return sequences.map((s) => ({
        tokenIds: s.tokenIds,
        text: s.text ?? '',
        finishReason: s.finishReason,
        selfCertainties: s.selfCertainties,
        logprobs: s.logprobs,
        entropies: s.entropies,
        ...(s.topLogprobs ? { topLogprobs: s.topLogprobs } : {}),
      }));
    },
    dispose: () => model.dispose(),
  };
}

/**
 * The UTF-8 length of the longest token as the vocabulary spells it. That spelling is never shorter
 * than the text the token decodes to: byte-level tokens spell each byte as one character of 1-2
 * bytes, SentencePiece spells a space as U+2581 (3 bytes) and a byte as <0xNN>.
 */
function longestTokenBytes(tokenizer: Tokenizer): number {
  let longest = 1;
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const token = tokenizer.idToToken(id);
    if (token !== undefined && token.length * 3 > longest) longest = Math.max(longest, Buffer.byteLength(token));
  }
  for (const { content } of tokenizer.addedTokens) longest = Math.max(longest, Buffer.byteLength(content));
  return longest;
}

/**
 * Loads a model folder, or a model named ORG/NAME[@revision] in the Hugging Face cache (weights and
 * tokenizer), as an engine; the id defaults to the folder's name, or to ORG/NAME for a cached model.
 */
export async function loadModelEngine(spec: string, options: { modelId?: string } & LoadModelOptions = {}): Promise<ModelEngine> {
  const source = resolveModelSource(spec);
  const tokenizer = await Tokenizer.fromDir(source.dir);
  const model = loadModel(source.dir, { dtype: options.dtype ?? 'float32', ...(options.device !== undefined ? { device: options.device } : {}) });
  const modelId = options.modelId ?? source.repoId ?? basename(source.dir);
  return createModelEngine(model, tokenizer, modelId, [spec, source.dir, realpathSync(source.dir)]);
}
