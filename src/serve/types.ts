// The server's vocabulary: requests and responses of the pure handler (no HTTP library in sight),
// and the engine interface the handler generates through. The real engine wraps a loaded model and
// its tokenizer (engine.ts); tests inject fakes with the same shape.

import type { ChatMessage } from '../tokenizer/index.ts';

export type HeaderValue = string | string[] | undefined;

/** One HTTP request as the handler sees it; `body` is parsed JSON, raw bytes or text, or undefined. */
export interface ServeRequest {
  method: string;
  /** the URL path, with or without a query string */
  path: string;
  headers: Record<string, HeaderValue>;
  body?: unknown;
  /**
   * aborted when the client goes away before its response is complete: the request leaves the
   * queue, or its rows stop generating, and the response (a 499 client_closed_request, or the end
   * of the stream) is for no one; the adapter sends nothing.
   */
  signal?: AbortSignal;
}

/** A complete JSON response. */
export interface JsonResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * A server-sent-events response: every item of `events` is one complete event (`data: ...\n\n`).
 * Stopping the iteration early (the client went away) cancels what is left of the stream.
 */
export interface StreamResponse {
  status: number;
  headers: Record<string, string>;
  events: AsyncIterable<string>;
}

export type ServeResponse = JsonResponse | StreamResponse;

export function isStreamResponse(response: ServeResponse): response is StreamResponse {
  return 'events' in response;
}

/** One generated sequence, as the engine returns it. */
export interface EngineSequence {
  tokenIds: number[];
  /** decoded with special tokens skipped, cut before a stop string */
  text: string;
  finishReason: 'stop' | 'length';
  /** per generated token: KL(U || p), log p(token), entropy */
  selfCertainties: number[];
  logprobs: number[];
  entropies: number[];
}

/** Sampling settings shared by every row of one engine batch. */
export interface SamplingSettings {
  maxNewTokens: number;
  temperature: number;
  topP: number;
  stop: string[];
  /** when set, the batch is one request alone, so the same seed gives the same sequences */
  seed: number | undefined;
}

/** One generate() call: each row is one sequence to sample (a prompt repeated per candidate). */
export interface EngineBatch extends SamplingSettings {
  prompts: number[][];
  /** called after each step for each row that produced a token */
  onToken?: (row: number, tokenId: number) => void;
  /**
   * asked before each step for each row still generating: true stops that row where it is (its
   * client went away). Its sequence is then cut short and is not used; the other rows are unaffected.
   */
  isCancelled?: (row: number) => boolean;
}

/** What the server needs of a model: tokenization and one batched generation at a time. */
export interface Engine {
  /** the id clients send as `model` */
  readonly modelId: string;
  /** positions the model supports (config.json's max_position_embeddings) */
  readonly contextLength: number;
  readonly hasChatTemplate: boolean;
  /**
   * An upper bound on the UTF-8 bytes of prompt text one token can stand for: a prompt longer than
   * maxPromptTokens x this cannot fit, and is refused before it is tokenized (tokenizing costs
   * time in proportion to the text, and more on long words).
   */
  readonly maxBytesPerToken: number;
  /** the engine's own filesystem paths (its model folder): responses never name them */
  readonly privatePaths?: readonly string[];
  /** the chat template with the generation prompt appended, as text (special tokens written out) */
  renderChat(messages: ChatMessage[]): string;
  /** text as token ids; addSpecialTokens (default true) adds what the tokenizer adds, e.g. a BOS token */
  encodeText(text: string, options?: { addSpecialTokens?: boolean }): number[];
  /** ids -> text, special tokens skipped (the same decoding as EngineSequence.text) */
  decode(tokenIds: number[]): string;
  /** one sequence per row of `batch.prompts`, in row order */
  generate(batch: EngineBatch): Promise<EngineSequence[]>;
}
