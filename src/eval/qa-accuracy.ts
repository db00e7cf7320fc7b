// Greedy accuracy of a model on question/label items (e.g. the arith test split), with the mean
// self-certainty and mean length of its responses: the before/after measurements of the demo and
// of the default model. Prompts are formatted as training formats them (rl/prompt.ts).

import type { CausalLM } from '../model/causal-lm.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import type { QaItem } from '../data/qa.ts';
import { generate } from '../generate/generate.ts';
import { answersEquivalent, extractAnswer } from '../select/index.ts';
import { promptIds, type PromptFormat } from '../rl/prompt.ts';

export interface QaEvaluation {
  accuracy: number;
  /** mean over responses of the mean per-token self-certainty */
  selfCertainty: number;
  /** mean response length in tokens */
  length: number;
  count: number;
  /** per item: was the greedy answer right */
  correct: boolean[];
  /** per item: the response and the answer extracted from it */
  responses: { text: string; answer: string | undefined }[];
}

export async function evaluateQa(
  model: CausalLM,
  tokenizer: Tokenizer,
  items: readonly QaItem[],
  format: PromptFormat,
  options: { maxNewTokens: number; batchSize?: number },
): Promise<QaEvaluation> {
  const eosTokenIds = [...new Set([...model.config.eosTokenIds, ...tokenizer.eosTokenIds])];
  const batchSize = options.batchSize ?? 32;
  const correct: boolean[] = [];
  const responses: QaEvaluation['responses'] = [];
  let certainty = 0;
  let length = 0;
  for (let start = 0; start < items.length; start += batchSize) {
    const batch = items.slice(start, start + batchSize);
    const sequences = await generate(model, batch.map((item) => promptIds(tokenizer, item.question, format)), { maxNewTokens: options.maxNewTokens, temperature: 0, eosTokenIds, tokenizer });
    for (const s of sequences) {
      const answer = extractAnswer(s.text ?? '');
      responses.push({ text: s.text ?? '', answer });
      const label = batch[s.prompt]!.label;
      correct.push(answer !== undefined && label !== undefined && answersEquivalent(answer, label));
      certainty += s.selfCertainties.reduce((a, b) => a + b, 0) / Math.max(1, s.selfCertainties.length);
      length += s.tokenIds.length;
    }
  }
  const n = Math.max(1, items.length);
  return { accuracy: correct.filter(Boolean).length / n, selfCertainty: certainty / n, length: length / n, count: items.length, correct, responses };
}
