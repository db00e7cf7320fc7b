// Response bodies in OpenAI's shapes: chat.completion, text_completion and their streamed chunks,
// plus intuitor's extensions: `self_certainty` on every choice, `answer` on each choice and a
// top-level `selection` when a selection rule was asked for. Choices arrive rendered: their index,
// text (with an echoed prompt) and log-probabilities (logprobs.ts) are the caller's.

import type { Choice, SelectionSummary } from './candidates.ts';
import type { EngineSequence } from './types.ts';

export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** A choice ready to send. */
export interface RenderedChoice {
  index: number;
  choice: Choice;
  /** the message content (chat) or the text, an echoed prompt included */
  text: string;
  logprobs: unknown;
}

/** Prompt tokens once per prompt; completion tokens over every candidate generated (best_of included). */
export function usageOf(promptTokens: number, sequences: readonly EngineSequence[]): Usage {
  const completion = sequences.reduce((sum, s) => sum + s.tokenIds.length, 0);
  return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
}

/** NaN and infinities are not JSON; a score that is not a number is sent as null. */
function score(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function extensions(choice: Choice): Record<string, unknown> {
  return { self_certainty: score(choice.selfCertainty), ...('answer' in choice ? { answer: choice.answer ?? null } : {}) };
}

export function chatCompletionBody(meta: ResponseMeta, choices: readonly RenderedChoice[], usage: Usage, selection: SelectionSummary | undefined): Record<string, unknown> {
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: choices.map((c) => ({
      index: c.index,
      message: { role: 'assistant', content: c.text, refusal: null },
      logprobs: c.logprobs,
      finish_reason: c.choice.sequence.finishReason,
      ...extensions(c.choice),
    })),
    usage,
    system_fingerprint: null,
    ...(selection ? { selection } : {}),
  };
}

export function textCompletionBody(meta: ResponseMeta, choices: readonly RenderedChoice[], usage: Usage, selection: SelectionSummary | undefined): Record<string, unknown> {
  return {
    id: meta.id,
    object: 'text_completion',
    created: meta.created,
    model: meta.model,
    choices: choices.map((c) => ({ index: c.index, text: c.text, logprobs: c.logprobs, finish_reason: c.choice.sequence.finishReason, ...extensions(c.choice) })),
    usage,
    system_fingerprint: null,
    ...(selection ? { selection } : {}),
  };
}

export type ChunkEvent =
  | { kind: 'start'; index: number }
  | { kind: 'delta'; index: number; text: string; logprobs?: unknown }
  | { kind: 'finish'; index: number; finishReason: 'stop' | 'length'; selfCertainty: number };

/** One streamed chunk of either endpoint; `usage` is null on every chunk when include_usage is on. */
export function chunkBody(endpoint: 'chat' | 'completion', meta: ResponseMeta, event: ChunkEvent, includeUsage: boolean): Record<string, unknown> {
  const finish = event.kind === 'finish' ? { finish_reason: event.finishReason, self_certainty: score(event.selfCertainty) } : { finish_reason: null };
  const text = event.kind === 'delta' ? event.text : '';
  const logprobs = event.kind === 'delta' ? (event.logprobs ?? null) : null;
  const choice =
    endpoint === 'chat'
      ? { index: event.index, delta: event.kind === 'start' ? { role: 'assistant', content: '' } : event.kind === 'delta' ? { content: text } : {}, logprobs, ...finish }
      : { index: event.index, text, logprobs, ...finish };
  return {
    id: meta.id,
    object: endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion',
    created: meta.created,
    model: meta.model,
    choices: [choice],
    system_fingerprint: null,
    ...(includeUsage ? { usage: null } : {}),
  };
}

/** The last chunk of a stream with stream_options.include_usage. */
export function usageChunkBody(endpoint: 'chat' | 'completion', meta: ResponseMeta, usage: Usage): Record<string, unknown> {
  return {
    id: meta.id,
    object: endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion',
    created: meta.created,
    model: meta.model,
    choices: [],
    system_fingerprint: null,
    usage,
  };
}

export function sseEvent(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

export const SSE_DONE = 'data: [DONE]\n\n';
