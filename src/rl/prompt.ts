// The prompt a training question becomes: the question, a newline and the instruction, as a user
// message in the chat template (--chat) or as plain text. One function, so that supervised
// fine-tuning, GRPO training and evaluation all show the model exactly the same prompt.

import type { Tokenizer } from '../tokenizer/index.ts';

export interface PromptFormat {
  chat: boolean;
  /** appended after a newline; '' for none */
  instruction: string;
  system?: string | undefined;
}

export function promptIds(tokenizer: Tokenizer, question: string, format: PromptFormat): number[] {
  const content = format.instruction ? `${question}\n${format.instruction}` : question;
  return format.chat
    ? (tokenizer.applyChatTemplate([{ role: 'user', content }], { addGenerationPrompt: true, ...(format.system !== undefined ? { systemPrompt: format.system } : {}) }) as number[])
    : tokenizer.encode(content);
}
