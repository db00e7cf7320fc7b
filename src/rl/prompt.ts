// The prompt a training question becomes, one function so that supervised fine-tuning, GRPO
// training and evaluation all show the model exactly the same prompt:
//
//   --chat     [system message: the system prompt] [user: question \n instruction] in the
//              model's chat template, with the assistant's turn opened
//   plain      system prompt \n\n question \n instruction, as raw text
//
// The default system prompt is the one the Intuitor authors trained and evaluated their Qwen2.5
// Intuitor models with (their public open-r1 recipe for Qwen2.5-3B); '' leaves it out.

import type { Tokenizer } from '../tokenizer/index.ts';

export const INTUITOR_SYSTEM_PROMPT =
  'You are a helpful AI Assistant, designed to provided well-reasoned and detailed responses. You FIRST think about the reasoning process step by step and then provide the user with the answer. Please enclose your final answer in the box: \\boxed{Your Answer}. Please stop generation immediately after outputing the box.';

/** The instruction the embedded models/arith-tiny was fine-tuned with (and evaluated with): no system prompt. */
export const BOXED_INSTRUCTION = 'Please reason step by step, and put your final answer within \\boxed{}.';

export interface PromptFormat {
  chat: boolean;
  /** '' for none */
  system: string;
  /** appended to the question after a newline; '' for none */
  instruction: string;
}

/** The prompt format models/arith-tiny was trained with. */
export const ARITH_TINY_FORMAT: PromptFormat = { chat: true, system: '', instruction: BOXED_INSTRUCTION };

/** The prompt format models/arith-mixed was trained with: the question alone, in the chat template. */
export const ARITH_MIXED_FORMAT: PromptFormat = { chat: true, system: '', instruction: '' };

export function promptText(question: string, format: Pick<PromptFormat, 'instruction'>): string {
  return format.instruction ? `${question}\n${format.instruction}` : question;
}

export function promptIds(tokenizer: Tokenizer, question: string, format: PromptFormat): number[] {
  const content = promptText(question, format);
  if (!format.chat) return tokenizer.encode(format.system ? `${format.system}\n\n${content}` : content);
  return tokenizer.applyChatTemplate([{ role: 'user', content }], { addGenerationPrompt: true, ...(format.system ? { systemPrompt: format.system } : {}) }) as number[];
}
