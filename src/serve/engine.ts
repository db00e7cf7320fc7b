// The real engine: a loaded causal LM and its tokenizer behind the Engine interface. Generation
// stops at the model's and the tokenizer's EOS ids (as `intuitor generate` does) and at the
// request's stop strings; its texts are decoded with special tokens skipped.

import { basename, resolve } from 'node:path';
import { generate } from '../generate/generate.ts';
import { loadModel } from '../model/load.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { Tokenizer, type ChatMessage } from '../tokenizer/index.ts';
import type { Engine, EngineBatch, EngineSequence } from './types.ts';

export interface ModelEngine extends Engine {
  readonly model: CausalLM;
  readonly tokenizer: Tokenizer;
  /** frees the model's parameters; call once nothing generates any more */
  dispose(): void;
}

/** An engine over a model and tokenizer already loaded (the caller keeps ownership of the model). */
export function createModelEngine(model: CausalLM, tokenizer: Tokenizer, modelId: string): ModelEngine {
  const eosTokenIds = [...new Set([...model.config.eosTokenIds, ...tokenizer.eosTokenIds])];
  return {
    modelId,
    model,
    tokenizer,
    contextLength: model.config.maxPositionEmbeddings,
    get hasChatTemplate() {
      return tokenizer.hasChatTemplate;
    },
    encodeChat: (messages: ChatMessage[]) => tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true, tokenize: true }),
    encodeText: (text: string) => tokenizer.encode(text, { addSpecialTokens: true }),
    decode: (tokenIds: number[]) => tokenizer.decode(tokenIds, { skipSpecialTokens: true }),
    async generate(batch: EngineBatch): Promise<EngineSequence[]> {
      const onToken = batch.onToken;
      const sequences = await generate(model, batch.prompts, {
        maxNewTokens: batch.maxNewTokens,
        temperature: batch.temperature,
        topP: batch.topP,
        stop: batch.stop,
        eosTokenIds,
        tokenizer,
        ...(batch.seed !== undefined ? { seed: batch.seed } : {}),
        ...(onToken ? { onToken: ({ sequence, tokenId }) => onToken(sequence, tokenId) } : {}),
        ...(batch.isCancelled ? { isCancelled: batch.isCancelled } : {}),
      });
      return sequences.map((s) => ({
        tokenIds: s.tokenIds,
        text: s.text ?? '',
        finishReason: s.finishReason,
        selfCertainties: s.selfCertainties,
        logprobs: s.logprobs,
        entropies: s.entropies,
      }));
    },
    dispose: () => model.dispose(),
  };
}

/** Loads a model folder (weights and tokenizer) as an engine; the id defaults to the folder's name. */
export async function loadModelEngine(dir: string, options: { modelId?: string; dtype?: 'float32' | 'bfloat16' } = {}): Promise<ModelEngine> {
  const tokenizer = await Tokenizer.fromDir(dir);
  const model = loadModel(dir, { dtype: options.dtype ?? 'float32' });
  return createModelEngine(model, tokenizer, options.modelId ?? basename(resolve(dir)));
}
