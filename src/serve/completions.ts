// POST /v1/chat/completions and POST /v1/completions: validate, build the prompt (its text measured
// before it is tokenized), check it against the limits and the model's context, queue the
// candidates with the scheduler, then answer with the chosen choices (JSON) or stream every
// candidate's text as server-sent events.

import { randomUUID } from 'node:crypto';
import { ChatTemplateError, type ChatMessage } from '../tokenizer/index.ts';
import type { ServeContext } from './context.ts';
import { chooseCandidates, mean } from './candidates.ts';
import { invalidRequest, modelNotFound, publicError, RequestCancelledError } from './errors.ts';
import { parseChatRequest, parseCompletionRequest, type ChatParams, type CompletionParams } from './params.ts';
import { chatCompletionBody, chunkBody, sseEvent, SSE_DONE, textCompletionBody, usageChunkBody, usageOf, type ResponseMeta } from './responses.ts';
import type { GenerationJob } from './scheduler.ts';
import { DeltaDecoder, EventChannel } from './stream.ts';
import type { Engine, EngineSequence, JsonResponse, ServeResponse, StreamResponse } from './types.ts';

/** max_tokens of /v1/completions when the request gives none (OpenAI's legacy default). */
export const COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

/** `signal`: aborted when the client goes away; the generation is then cancelled (see scheduler.ts). */
export async function handleCompletion(endpoint: 'chat' | 'completion', body: unknown, context: ServeContext, signal?: AbortSignal): Promise<ServeResponse> {
  const { engine, limits } = context;
  const params = endpoint === 'chat' ? parseChatRequest(body, limits) : parseCompletionRequest(body, limits);
  if (params.model !== engine.modelId) throw modelNotFound(params.model);
  const promptParam = endpoint === 'chat' ? 'messages' : 'prompt';
  const prompt = promptIds(params, context, promptParam);
  if (prompt.length > limits.maxPromptTokens) {
    throw invalidRequest(
      `This server's maximum prompt length is ${limits.maxPromptTokens} tokens. However, your ${promptParam} resulted in ${prompt.length} tokens. Please reduce the length of the ${promptParam}.`,
      promptParam,
      'context_length_exceeded',
    );
  }
  const room = engine.contextLength - prompt.length;
  const maxNewTokens = params.maxTokens ?? Math.min(endpoint === 'chat' ? limits.maxTokens : COMPLETIONS_DEFAULT_MAX_TOKENS, room);
  if (maxNewTokens > room) {
    throw invalidRequest(
      `This model's maximum context length is ${engine.contextLength} tokens. However, you requested ${prompt.length + maxNewTokens} tokens (${prompt.length} in the ${promptParam}, ${maxNewTokens} in the completion). Please reduce the length of the ${promptParam} or completion.`,
      promptParam,
      'context_length_exceeded',
    );
  }
  const meta: ResponseMeta = { id: `${endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`, created: Math.floor(Date.now() / 1000), model: engine.modelId };
  const job: GenerationJob = {
    prompt,
    count: params.bestOf,
    sampling: { maxNewTokens, temperature: params.temperature, topP: params.topP, stop: params.stop, seed: params.seed },
  };
  if (params.stream) return streamCompletion(endpoint, params, job, meta, context, signal);
  const sequences = await context.scheduler.submit(signal ? { ...job, signal } : job);
  const { choices, selection } = chooseCandidates(sequences, params);
  const usage = usageOf(prompt.length, sequences);
  const response: JsonResponse = {
    status: 200,
    headers: {},
    body: endpoint === 'chat' ? chatCompletionBody(meta, choices, usage, selection) : textCompletionBody(meta, choices, usage, selection),
  };
  return response;
}

/**
 * The prompt's token ids. Its text is measured first: text of more bytes than maxPromptTokens
 * tokens can stand for is refused without tokenizing it (a few MB of one long word would keep the
 * tokenizer, and with it the whole server, busy for a minute).
 */
function promptIds(params: ChatParams | CompletionParams, { engine, limits }: ServeContext, promptParam: string): number[] {
  const text = params.kind === 'chat' ? renderChat(params.messages, engine) : params.prompt;
  const bytes = Buffer.byteLength(text);
  const most = limits.maxPromptTokens * engine.maxBytesPerToken;
  if (bytes > most) {
    throw invalidRequest(
      `This server's maximum prompt length is ${limits.maxPromptTokens} tokens. However, your ${promptParam} is ${bytes} bytes of text, more than that many tokens of this model can hold (${most} bytes). Please reduce the length of the ${promptParam}.`,
      promptParam,
      'context_length_exceeded',
    );
  }
  // A rendered template writes its special tokens out; the tokenizer must not add more.
  const ids = engine.encodeText(text, { addSpecialTokens: params.kind === 'completion' });
  if (ids.length === 0) throw invalidRequest(`Invalid '${promptParam}': it is empty (no tokens); generation needs at least one prompt token.`, promptParam, 'invalid_value');
  return ids;
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
 * Streams every candidate (best_of equals n here) in sampling order. The job is queued before the
 * response exists, so a full queue is still a plain 429. A client that goes away (`signal`), or a
 * consumer that stops reading the events, cancels the job: it leaves the queue, or its rows stop
 * generating (the rest of their batch goes on), and the stream just ends.
 */
function streamCompletion(endpoint: 'chat' | 'completion', params: ChatParams | CompletionParams, job: GenerationJob, meta: ResponseMeta, context: ServeContext, signal: AbortSignal | undefined): StreamResponse {
  const cancel = new AbortController();
  const onAbort = () => cancel.abort();
  if (signal?.aborted) cancel.abort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  const detach = () => signal?.removeEventListener('abort', onAbort);
  const channel = new EventChannel<string>(onAbort);
  const send = (event: Parameters<typeof chunkBody>[2]) => channel.push(sseEvent(chunkBody(endpoint, meta, event, params.includeUsage)));
  const decoders = Array.from({ length: job.count }, () => new DeltaDecoder((ids) => context.engine.decode(ids), job.sampling.stop));
  let done: Promise<EngineSequence[]>;
  try {
    done = context.scheduler.submit({
      ...job,
      signal: cancel.signal,
      onToken: (candidate, tokenId) => {
        if (channel.cancelled) return;
        const text = decoders[candidate]!.push(tokenId);
        if (text !== '') send({ kind: 'delta', index: candidate, text });
      },
    });
  } catch (error) {
    detach(); // a full queue: a plain 429, no stream
    throw error;
  }
  if (endpoint === 'chat') for (let index = 0; index < job.count; index++) send({ kind: 'start', index });
  done.then(
    (sequences) => {
      detach();
      sequences.forEach((s, index) => {
        const text = decoders[index]!.finish(s.text);
        if (text !== '') send({ kind: 'delta', index, text });
        send({ kind: 'finish', index, finishReason: s.finishReason, selfCertainty: mean(s.selfCertainties) });
      });
      if (params.includeUsage) channel.push(sseEvent(usageChunkBody(endpoint, meta, usageOf(job.prompt.length, sequences))));
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
  return { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }, events: channel };
}
