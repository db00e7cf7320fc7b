// How a command's prompts become tokens, for the dataset checks that run before any model work
// (src/data/checked-dataset.ts): the prompt format of src/rl/prompt.ts, the raw tokenizer, and the
// model's positions from its config.json (read alone; the weights load later).

import { loadModelConfig } from '../model/config.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { promptIds, type PromptFormat } from '../rl/prompt.ts';
import type { TokenFit } from '../data/checked-dataset.ts';

/** `reserved` tokens are generated after each prompt, by the flag `reservedFlag`. */
export function promptFit(tokenizer: Tokenizer, format: PromptFormat, modelDir: string, reserved: number, reservedFlag?: string): TokenFit {
  return {
    promptIds: (question) => promptIds(tokenizer, question, format),
    encode: (text) => tokenizer.encode(text, { addSpecialTokens: false }),
    budget: {
      contextLength: loadModelConfig(modelDir).maxPositionEmbeddings,
      reserved,
      ...(reservedFlag ? { reservedBy: `${reservedFlag} ${reserved}` } : {}),
      model: modelDir,
    },
  };
}
