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

/** Token counts of a completion, for the access log; a stream's completion count arrives when it ends. */
export interface TokenCounts {
  prompt: number;
  completion: number | undefined;
}

/** A complete JSON response. */
export interface JsonResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  /** set by the completion endpoints */
  tokens?: TokenCounts;
}

/**
 * A server-sent-events response: every item of `events` is one complete event (`data: ...\n\n`).
 * Stopping the iteration early (the client went away) cancels what is left of the stream.
 */
export interface StreamResponse {
  status: number;
  headers: Record<string, string>;
  events: AsyncIterable<string>;
  /** set by the completion endpoints; `completion` is filled in once the generation is done */
  tokens?: TokenCounts;
}

export type ServeResponse = JsonResponse | StreamResponse;

export function isStreamResponse(response: ServeResponse): response is StreamResponse {
  return 'events' in response;
}

/** A token and its log-probability under the model's raw distribution (temperature 1). */
export interface TokenAlternative {
  tokenId: number;
  logprob: number;
}

/** What the engine knows of one token as it is generated. */
export interface TokenScores {
  /** log p(token) under the model's raw distribution */
  logprob: number;
  /** with EngineBatch.topLogprobs: the most likely tokens at that position, most likely first */
  topLogprobs?: TokenAlternative[];
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
  /** with EngineBatch.topLogprobs: per generated token, the most likely tokens, most likely first */
  topLogprobs?: TokenAlternative[][];
}

/** A prompt scored under the model: every token but the first (which nothing predicts). */
export interface PromptScores {
  /** per token 1..n-1: log p(token | the tokens before it) */
  logprobs: number[];
  /** with topLogprobs > 0: per token 1..n-1, the most likely tokens there, most likely first */
  topLogprobs: TokenAlternative[][] | undefined;
}

/** Sampling settings shared by every row of one engine batch. */
export interface SamplingSettings {
  maxNewTokens: number;
  temperature: number;
  topP: number;
  stop: string[];
  /** OpenAI's repetition penalties over each row's generated tokens (0: none) */
  frequencyPenalty: number;
  presencePenalty: number;
  /** when set, the batch is one request alone, so the same seed gives the same sequences */
  seed: number | undefined;
}

/** One generate() call: each row is one sequence to sample (a prompt repeated per candidate). */
export interface EngineBatch extends SamplingSettings {
  prompts: number[][];
  /** alternatives per generated token to return (EngineSequence.topLogprobs); 0 or absent: none */
  topLogprobs?: number;
  /** called after each step for each row that produced a token */
  onToken?: (row: number, tokenId: number, scores: TokenScores) => void;
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
  /** token ids are in [0, vocabSize) */
  readonly vocabSize: number;
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
  /** each token's own text, special tokens written out (what logprobs report as `token`) */
  tokenTexts(tokenIds: number[]): string[];
  /**
   * log-probabilities of a prompt's tokens under the model (for echo with logprobs). Synchronous:
   * one forward pass, which cannot interleave with a generation step.
   */
  scorePrompt(tokenIds: number[], topLogprobs: number): PromptScores;
  /** one sequence per row of `batch.prompts`, in row order */
  generate(batch: EngineBatch): Promise<EngineSequence[]>;
}
