// POST /v1/chat/completions and POST /v1/completions: validate, build the prompts (their text
// measured before it is tokenized), check them against the limits and the model's context, queue
// the candidates with the scheduler, then answer with the chosen choices (JSON) or stream every
// candidate's text as server-sent events. Several prompts (the legacy endpoint) are one job; their
// choices come prompt-major (index = prompt * n + i), each prompt's chosen among its own candidates.
// Log-probabilities come from the generation itself (logprobs.ts); an echoed prompt's are scored by
// one forward pass of the prompt (Engine.scorePrompt), run when the answer is assembled.

import { randomUUID } from 'node:crypto';
import { ChatTemplateError, type ChatMessage } from '../tokenizer/index.ts';
import type { ServeContext } from './context.ts';
import { chooseCandidates, mean, type Choice, type SelectionSummary } from './candidates.ts';
import { invalidRequest, modelNotFound, publicError, RequestCancelledError } from './errors.ts';
import { chatLogprobs, codePoints, legacyLogprobs, promptTokens, sequenceTokens, tokenOffsets, type ScoredToken } from './logprobs.ts';
import { parseChatRequest, parseCompletionRequest, type ChatParams, type CompletionParams, type PromptInput } from './params.ts';
import { chatCompletionBody, chunkBody, sseEvent, SSE_DONE, textCompletionBody, usageChunkBody, usageOf, type RenderedChoice, type ResponseMeta } from './responses.ts';
import type { GenerationJob } from './scheduler.ts';
import { DeltaDecoder, EventChannel } from './stream.ts';
import type { Engine, EngineSequence, JsonResponse, ServeResponse, StreamResponse, TokenCounts, TokenScores } from './types.ts';

/** max_tokens of /v1/completions when the request gives none (OpenAI's legacy default). */
export const COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

/** One prompt of a request: its token ids and the text an echo repeats. */
interface Prompt {
  ids: number[];
  text: string;
}

/** `signal`: aborted when the client goes away; the generation is then cancelled (see scheduler.ts). */
export async function handleCompletion(endpoint: 'chat' | 'completion', body: unknown, context: ServeContext, signal?: AbortSignal): Promise<ServeResponse> {
  const { engine, limits } = context;
  const params = endpoint === 'chat' ? parseChatRequest(body, limits) : parseCompletionRequest(body, limits);
  if (params.model !== engine.modelId) throw modelNotFound(params.model);
  const prompts = params.kind === 'chat' ? [chatPrompt(params.messages, context)] : params.prompts.map((p, i) => completionPrompt(p, context, params.prompts.length > 1 ? `prompt[${i}]` : 'prompt'));
  const maxNewTokens = newTokensFor(prompts, params, context);
  const meta: ResponseMeta = { id: `${endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`, created: Math.floor(Date.now() / 1000), model: engine.modelId };
  const promptTokens = prompts.reduce((sum, p) => sum + p.ids.length, 0);
  const job: GenerationJob = {
    prompts: prompts.map((p) => p.ids),
    count: params.bestOf,
    sampling: {
      maxNewTokens,
      temperature: params.temperature,
      topP: params.topP,
      stop: params.stop,
      seed: params.seed,
      frequencyPenalty: params.frequencyPenalty,
      presencePenalty: params.presencePenalty,
    },
    ...(params.logprobs ? { topLogprobs: params.logprobs } : {}),
  };
  if (params.stream) return streamCompletion(params, prompts, job, meta, context, signal);
  // max_tokens 0 (echo only): nothing to generate, every candidate is empty.
  const sequences = maxNewTokens === 0 ? job.prompts.flatMap(() => Array.from({ length: job.count }, emptySequence)) : await context.scheduler.submit(signal ? { ...job, signal } : job);
  const rendered: RenderedChoice[] = [];
  let selection: SelectionSummary | undefined;
  prompts.forEach((prompt, p) => {
    const chosen = chooseCandidates(sequences.slice(p * job.count, (p + 1) * job.count), params);
    selection = chosen.selection;
    const echo = params.kind === 'completion' && params.echo ? echoOf(prompt, params.logprobs, engine) : undefined;
    chosen.choices.forEach((choice, i) => rendered.push(renderChoice(p * params.n + i, choice, params, echo, engine)));
  });
  const usage = usageOf(promptTokens, sequences);
  const response: JsonResponse = {
    status: 200,
    headers: {},
    body: endpoint === 'chat' ? chatCompletionBody(meta, rendered, usage, selection) : textCompletionBody(meta, rendered, usage, selection),
    tokens: { prompt: promptTokens, completion: usage.completion_tokens },
  };
  return response;
}

function emptySequence(): EngineSequence {
  return { tokenIds: [], text: '', finishReason: 'length', selfCertainties: [], logprobs: [], entropies: [] };
}

/** max_tokens, or the endpoint's default within the room the longest prompt leaves; checked against the context. */
function newTokensFor(prompts: readonly Prompt[], params: ChatParams | CompletionParams, { engine, limits }: ServeContext): number {
  const longest = prompts.reduce((a, b) => (b.ids.length > a.ids.length ? b : a));
  const param = params.kind === 'chat' ? 'messages' : prompts.length > 1 ? `prompt[${prompts.indexOf(longest)}]` : 'prompt';
  const room = engine.contextLength - longest.ids.length;
  const maxNewTokens = params.maxTokens ?? Math.min(params.kind === 'chat' ? limits.maxTokens : COMPLETIONS_DEFAULT_MAX_TOKENS, room);
  if (maxNewTokens > room) {
    throw invalidRequest(
      `This model's maximum context length is ${engine.contextLength} tokens. However, you requested ${longest.ids.length + maxNewTokens} tokens (${longest.ids.length} in the ${param}, ${maxNewTokens} in the completion). Please reduce the length of the ${param} or completion.`,
      param,
      'context_length_exceeded',
    );
  }
  return maxNewTokens;
}

function chatPrompt(messages: ChatMessage[], context: ServeContext): Prompt {
  const text = renderChat(messages, context.engine);
  // A rendered template writes its special tokens out; the tokenizer must not add more.
  return checkedPrompt(encodeMeasured(text, context, 'messages', false), text, context, 'messages');
}

function completionPrompt(input: PromptInput, context: ServeContext, param: string): Prompt {
  if ('text' in input) return checkedPrompt(encodeMeasured(input.text, context, param, true), input.text, context, param);
  const bad = input.ids.findIndex((id) => id >= context.engine.vocabSize);
  if (bad !== -1) {
    throw invalidRequest(`Invalid '${param}[${bad}]': token id ${input.ids[bad]} is outside this model's vocabulary of ${context.engine.vocabSize} tokens.`, `${param}[${bad}]`, 'integer_above_max_value');
  }
  return checkedPrompt(input.ids, context.engine.decode(input.ids), context, param);
}

/**
 * A prompt text's token ids. The text is measured first: text of more bytes than maxPromptTokens
 * tokens can stand for is refused without tokenizing it (a few MB of one long word would keep the
 * tokenizer, and with it the whole server, busy for a minute).
 */
function encodeMeasured(text: string, { engine, limits }: ServeContext, param: string, addSpecialTokens: boolean): number[] {
  const bytes = Buffer.byteLength(text);
  const most = limits.maxPromptTokens * engine.maxBytesPerToken;
  if (bytes > most) {
    throw invalidRequest(
      `This server's maximum prompt length is ${limits.maxPromptTokens} tokens. However, your ${param} is ${bytes} bytes of text, more than that many tokens of this model can hold (${most} bytes). Please reduce the length of the ${param}.`,
      param,
      'context_length_exceeded',
    );
  }
  return engine.encodeText(text, { addSpecialTokens });
}

function checkedPrompt(ids: number[], text: string, { limits }: ServeContext, param: string): Prompt {
  if (ids.length === 0) throw invalidRequest(`Invalid '${param}': it is empty (no tokens); generation needs at least one prompt token.`, param, 'invalid_value');
  if (ids.length > limits.maxPromptTokens) {
    throw invalidRequest(
      `This server's maximum prompt length is ${limits.maxPromptTokens} tokens. However, your ${param} resulted in ${ids.length} tokens. Please reduce the length of the ${param}.`,
      param,
      'context_length_exceeded',
    );
  }
  return { ids, text };
}

/** What an echo puts before each choice of a prompt: its text and, with logprobs, its scored tokens. */
interface Echo {
  text: string;
  /** code points of text */
  length: number;
  tokens: ScoredToken[] | undefined;
  offsets: number[] | undefined;
}

function echoOf(prompt: Prompt, logprobs: number | undefined, engine: Engine): Echo {
  const length = codePoints(prompt.text);
  if (logprobs === undefined) return { text: prompt.text, length, tokens: undefined, offsets: undefined };
  return {
    text: prompt.text,
    length,
    tokens: promptTokens(prompt.ids, engine.scorePrompt(prompt.ids, logprobs)),
    offsets: tokenOffsets((ids) => engine.decode(ids), prompt.ids, 0, length),
  };
}

function renderChoice(index: number, choice: Choice, params: ChatParams | CompletionParams, echo: Echo | undefined, engine: Engine): RenderedChoice {
  const { sequence } = choice;
  const text = (echo?.text ?? '') + sequence.text;
  if (params.logprobs === undefined) return { index, choice, text, logprobs: null };
  if (params.kind === 'chat') return { index, choice, text, logprobs: chatLogprobs(engine, sequenceTokens(sequence)) };
  const base = echo?.length ?? 0;
  const generated = tokenOffsets((ids) => engine.decode(ids), sequence.tokenIds, base, codePoints(sequence.text));
  return { index, choice, text, logprobs: legacyLogprobs(engine, [...(echo?.tokens ?? []), ...sequenceTokens(sequence)], [...(echo?.offsets ?? []), ...generated]) };
}

function renderChat(messages: ChatMessage[], engine: Engine): string {
  if (!engine.hasChatTemplate) {
    throw invalidRequest(
      `The model \`${engine.modelId}\` has no chat template (its tokenizer_config.json defines no chat_template), so it cannot serve /v1/chat/completions. Use /v1/completions with a plain prompt.`,
      'messages',
      'chat_template_missing',
    );
  }
  try {
    return engine.renderChat(messages);
  } catch (error) {
    if (error instanceof ChatTemplateError) throw invalidRequest(`The chat template rejected these messages: ${error.message}`, 'messages', 'invalid_value');
    throw error;
  }
}

/**
 * Streams every candidate (best_of equals n here) in sampling order, prompt-major. The job is
 * queued before the response exists, so a full queue is still a plain 429. A client that goes away
 * (`signal`), or a consumer that stops reading the events, cancels the job: it leaves the queue, or
 * its rows stop generating (the rest of their batch goes on), and the stream just ends.
 * With logprobs, each chunk carries the tokens whose text it completes: a token whose text is
 * held back (part of a character, a possible stop string) rides with the next chunk that is sent.
 */
function streamCompletion(params: ChatParams | CompletionParams, prompts: readonly Prompt[], job: GenerationJob, meta: ResponseMeta, context: ServeContext, signal: AbortSignal | undefined): StreamResponse {
  const endpoint = params.kind === 'chat' ? 'chat' : 'completion';
  const { engine } = context;
  const cancel = new AbortController();
  const onAbort = () => cancel.abort();
  if (signal?.aborted) cancel.abort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  const detach = () => signal?.removeEventListener('abort', onAbort);
  const channel = new EventChannel<string>(onAbort);
  const send = (event: Parameters<typeof chunkBody>[2]) => channel.push(sseEvent(chunkBody(endpoint, meta, event, params.includeUsage)));
  const rows = prompts.length * job.count;
  let candidates: StreamedCandidate[] = [];
  const tokens: TokenCounts = { prompt: prompts.reduce((sum, p) => sum + p.ids.length, 0), completion: undefined };
  let done: Promise<EngineSequence[]>;
  try {
    done = context.scheduler.submit({
      ...job,
      signal: cancel.signal,
      onToken: (candidate, tokenId, scores) => {
        if (channel.cancelled) return;
        const delta = candidates[candidate]!.push(tokenId, scores);
        if (delta) send({ kind: 'delta', index: candidate, ...delta });
      },
    });
  } catch (error) {
    detach(); // a full queue: a plain 429, no stream
    throw error;
  }
  // Queued, so worth scoring an echoed prompt now; the first token arrives on a later turn.
  const echoes = params.kind === 'completion' && params.echo ? prompts.map((p) => echoOf(p, params.logprobs, engine)) : undefined;
  candidates = Array.from({ length: rows }, (_, candidate) => new StreamedCandidate(engine, job.sampling.stop, params, echoes?.[Math.floor(candidate / job.count)]));
  if (endpoint === 'chat') for (let index = 0; index < rows; index++) send({ kind: 'start', index });
  candidates.forEach((c, index) => {
    const echo = c.echo();
    if (echo) send({ kind: 'delta', index, ...echo });
  });
  done.then(
    (sequences) => {
      detach();
      sequences.forEach((s, index) => {
        const delta = candidates[index]!.finish(s.text);
        if (delta) send({ kind: 'delta', index, ...delta });
        send({ kind: 'finish', index, finishReason: s.finishReason, selfCertainty: mean(s.selfCertainties) });
      });
      const usage = usageOf(tokens.prompt, sequences);
      tokens.completion = usage.completion_tokens;
      if (params.includeUsage) channel.push(sseEvent(usageChunkBody(endpoint, meta, usage)));
      channel.push(SSE_DONE);
      channel.end();
    },
    (error: unknown) => {
      detach();
      // Cancelled: no one is reading; the stream just ends.
      if (!(error instanceof RequestCancelledError)) channel.push(sseEvent(publicError(error, context.redact).toJSON()));
      channel.end();
    },
  );
  return { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }, events: channel, tokens };
}

/** One streamed candidate: its text deltas and, with logprobs, the tokens each delta completes. */
class StreamedCandidate {
  readonly #engine: Engine;
  readonly #decoder: DeltaDecoder;
  readonly #params: ChatParams | CompletionParams;
  readonly #echo: Echo | undefined;
  /** tokens not yet sent, with their code-point offsets in the generated text */
  #pending: { token: ScoredToken; offset: number }[] = [];

  constructor(engine: Engine, stop: readonly string[], params: ChatParams | CompletionParams, echo: Echo | undefined) {
    this.#engine = engine;
    this.#decoder = new DeltaDecoder((ids) => engine.decode(ids), [...stop]);
    this.#params = params;
    this.#echo = echo;
  }

  /** The echoed prompt, sent before any generated text. */
  echo(): { text: string; logprobs: unknown } | undefined {
    const echo = this.#echo;
    if (!echo) return undefined;
    return { text: echo.text, logprobs: echo.tokens ? legacyLogprobs(this.#engine, echo.tokens, echo.offsets!) : null };
  }

  push(tokenId: number, scores: TokenScores): { text: string; logprobs: unknown } | undefined {
    if (this.#params.logprobs !== undefined) {
      this.#pending.push({ token: { tokenId, logprob: scores.logprob, top: scores.topLogprobs ?? [] }, offset: codePoints(this.#decoder.decoded) });
    }
    return this.#delta(this.#decoder.push(tokenId));
  }

  /** What is left once the final text is known (the last held-back text and tokens). */
  finish(finalText: string): { text: string; logprobs: unknown } | undefined {
    return this.#delta(this.#decoder.finish(finalText), true);
  }

  #delta(text: string, last = false): { text: string; logprobs: unknown } | undefined {
    if (text === '' && !(last && this.#pending.length > 0)) return undefined;
    if (this.#params.logprobs === undefined) return { text, logprobs: null };
    const pending = this.#pending;
    this.#pending = [];
    const tokens = pending.map((p) => p.token);
    if (this.#params.kind === 'chat') return { text, logprobs: chatLogprobs(this.#engine, tokens) };
    // Offsets within the choice's text so far (the echoed prompt, then what was sent, this delta included).
    const base = this.#echo?.length ?? 0;
    const limit = codePoints(this.#decoder.sent);
    return { text, logprobs: legacyLogprobs(this.#engine, tokens, pending.map((p) => base + Math.min(p.offset, limit))) };
  }
}
