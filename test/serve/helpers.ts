// Shared by the server tests: the fixture model as an engine, a controllable fake engine, and a
// helper that calls the pure handler and reads streamed events.
import { fileURLToPath } from 'node:url';
import { loadModelEngine, type ModelEngine } from '../../src/serve/engine.ts';
import { handleRequest } from '../../src/serve/handler.ts';
import type { ServeContext } from '../../src/serve/context.ts';
import { isStreamResponse, type Engine, type EngineBatch, type EngineSequence, type JsonResponse, type PromptScores, type ServeResponse, type TokenAlternative } from '../../src/serve/types.ts';

export const fixtureDir = fileURLToPath(new URL('../fixtures/qwen2-tiny', import.meta.url));
export const FIXTURE_ID = 'qwen2-tiny';

export function loadFixtureEngine(): Promise<ModelEngine> {
  return loadModelEngine(fixtureDir, { modelId: FIXTURE_ID });
}

/** The fake engine's alternatives at any position: 'A', 'B', ... with log-probabilities -0.5, -1.5, ... */
export function fakeAlternatives(k: number): TokenAlternative[] {
  return Array.from({ length: k }, (_, j) => ({ tokenId: 0x41 + j, logprob: -0.5 - j }));
}

/**
 * A fake engine: a prompt token is a character code; the text of row r is its prompt's last
 * character followed by `r`-dependent letters; self-certainty per row comes from `certainties`
 * (by row) when given. Every generated token has log-probability -1, every prompt token after the
 * first -0.25, and the alternatives are fakeAlternatives(k). `block()` holds every generate() call until `release()`. A row that
 * `batch.isCancelled` reports cancelled (asked before each of its tokens) ends where it is.
 */
export class FakeEngine implements Engine {
  readonly modelId = 'fake-model';
  contextLength = 64;
  readonly vocabSize = 0x110000;
  hasChatTemplate = true;
  /** one code point per token: at most 4 UTF-8 bytes */
  readonly maxBytesPerToken = 4;
  readonly calls: EngineBatch[] = [];
  /** texts by row (cycled) instead of the generated letters */
  texts: string[] | undefined;
  certainties: number[] | undefined;
  fail = false;
  #blocked = false;
  #waiters: (() => void)[] = [];
  #started: (() => void)[] = [];

  renderChat(messages: { role: string; content: string }[]): string {
    return messages.map((m) => `<${m.role}>${m.content}`).join('');
  }

  encodeText(text: string): number[] {
    return [...text].map((c) => c.codePointAt(0)!);
  }

  decode(tokenIds: number[]): string {
    return tokenIds.map((id) => String.fromCodePoint(id)).join('');
  }

  tokenTexts(tokenIds: number[]): string[] {
    return tokenIds.map((id) => String.fromCodePoint(id));
  }

  scorePrompt(tokenIds: number[], topLogprobs: number): PromptScores {
    const rest = tokenIds.slice(1);
    return { logprobs: rest.map(() => -0.25), topLogprobs: topLogprobs > 0 ? rest.map(() => fakeAlternatives(topLogprobs)) : undefined };
  }

  block(): void {
    this.#blocked = true;
  }

  release(): void {
    this.#blocked = false;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  /** Resolves when the next generate() call has started. */
  nextCall(): Promise<void> {
    return new Promise((resolve) => this.#started.push(resolve));
  }

  async generate(batch: EngineBatch): Promise<EngineSequence[]> {
    this.calls.push(batch);
    for (const resolve of this.#started.splice(0)) resolve();
    if (this.#blocked) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    if (this.fail) throw new Error('engine exploded');
    return batch.prompts.map((prompt, row) => {
      const text = this.texts ? this.texts[row % this.texts.length]! : String.fromCodePoint(prompt.at(-1)!) + 'abcdefghijklmnopqrstuvwxyz'.slice(row % 26).padEnd(batch.maxNewTokens, 'z');
      const all = this.encodeText(text).slice(0, batch.maxNewTokens);
      const tokenIds: number[] = [];
      for (const id of all) {
        if (batch.isCancelled?.(row)) break;
        tokenIds.push(id);
        batch.onToken?.(row, id, batch.topLogprobs ? { logprob: -1, topLogprobs: fakeAlternatives(batch.topLogprobs) } : { logprob: -1 });
      }
      const certainty = this.certainties?.[row] ?? 1 + row;
      return {
        tokenIds,
        text: this.decode(tokenIds),
        finishReason: tokenIds.length < batch.maxNewTokens ? 'stop' : 'length',
        selfCertainties: tokenIds.map(() => certainty),
        logprobs: tokenIds.map(() => -1),
        entropies: tokenIds.map(() => 1),
        ...(batch.topLogprobs ? { topLogprobs: tokenIds.map(() => fakeAlternatives(batch.topLogprobs!)) } : {}),
      } satisfies EngineSequence;
    });
  }
}

export interface Call {
  method?: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export async function call(context: ServeContext, request: Call): Promise<ServeResponse> {
  return handleRequest({ method: request.method ?? 'POST', path: request.path, headers: request.headers ?? {}, body: request.body, ...(request.signal ? { signal: request.signal } : {}) }, context);
}

/**
 * An engine that forwards to `engine` and records what each generate() call returned (e.g. how
 * many tokens a cancelled row got) and when each call starts (`nextCall()`).
 */
export function recordingEngine(engine: Engine): { engine: Engine; results: EngineSequence[][]; nextCall(): Promise<EngineBatch> } {
  const results: EngineSequence[][] = [];
  const started: ((batch: EngineBatch) => void)[] = [];
  const recording: Engine = {
    modelId: engine.modelId,
    contextLength: engine.contextLength,
    vocabSize: engine.vocabSize,
    get hasChatTemplate() {
      return engine.hasChatTemplate;
    },
    maxBytesPerToken: engine.maxBytesPerToken,
    ...(engine.privatePaths ? { privatePaths: engine.privatePaths } : {}),
    renderChat: (messages) => engine.renderChat(messages),
    encodeText: (text, options) => engine.encodeText(text, options),
    decode: (tokenIds) => engine.decode(tokenIds),
    tokenTexts: (tokenIds) => engine.tokenTexts(tokenIds),
    scorePrompt: (tokenIds, topLogprobs) => engine.scorePrompt(tokenIds, topLogprobs),
    async generate(batch) {
      for (const resolve of started.splice(0)) resolve(batch);
      const sequences = await engine.generate(batch);
      results.push(sequences);
      return sequences;
    },
  };
  return { engine: recording, results, nextCall: () => new Promise((resolve) => started.push(resolve)) };
}

/** A JSON response (fails the test when it is a stream). */
export async function callJson(context: ServeContext, request: Call): Promise<JsonResponse & { body: any }> {
  const response = await call(context, request);
  if (isStreamResponse(response)) throw new Error(`expected a JSON response from ${request.path}, got a stream`);
  return response;
}

/** Every event of a stream, its data parsed ('[DONE]' kept as the string). */
export async function readEvents(response: ServeResponse): Promise<any[]> {
  if (!isStreamResponse(response)) throw new Error(`expected a stream, got ${response.status}: ${JSON.stringify(response.body)}`);
  const out: any[] = [];
  for await (const event of response.events) {
    if (!event.startsWith('data: ') || !event.endsWith('\n\n')) throw new Error(`not an SSE data event: ${JSON.stringify(event)}`);
    const data = event.slice(6, -2);
    out.push(data === '[DONE]' ? data : JSON.parse(data));
  }
  return out;
}

/** Asserts an OpenAI-shaped error and returns its `error` object. */
export function errorOf(response: JsonResponse & { body: any }, status: number): { message: string; type: string; param: string | null; code: string | null } {
  if (response.status !== status) throw new Error(`expected status ${status}, got ${response.status}: ${JSON.stringify(response.body)}`);
  const error = response.body?.error;
  if (!error || typeof error.message !== 'string' || !('param' in error) || !('code' in error) || typeof error.type !== 'string') {
    throw new Error(`not an OpenAI-shaped error: ${JSON.stringify(response.body)}`);
  }
  return error;
}
