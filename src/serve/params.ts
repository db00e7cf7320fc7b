// Request bodies of /v1/chat/completions and /v1/completions -> typed generation parameters.
// Unknown fields are ignored, as OpenAI does; known fields of the wrong type or out of range are a
// 400 that names the parameter; known features this server does not have (tools, logit_bias,
// suffix...) are a 400 rather than silently ignored when they would change the result.
//
// Log-probabilities: chat takes `logprobs: true` with `top_logprobs` 0..20 alternatives per token;
// the legacy endpoint takes `logprobs` 0..5 (the sampled token's log-probability always, plus that
// many alternatives) and `echo`. Both become `logprobs`: the number of alternatives, or undefined
// for none.

import { SELECTION_METHODS, type SelectionMethod } from '../select/index.ts';
import type { ChatMessage } from '../tokenizer/index.ts';
import { invalidRequest, type ApiError } from './errors.ts';
import {
  checkText,
  field,
  isObject,
  missing,
  optionalBoolean,
  optionalInteger,
  optionalNumber,
  optionalObject,
  requiredString,
  wrongType,
  type JsonObject,
} from './fields.ts';
import type { ServeLimits } from './limits.ts';

export interface SelectionParams {
  method: SelectionMethod;
  /** Borda power (default: the paper's heuristic for the number of candidates) */
  p: number | undefined;
}

export interface GenerationParams {
  model: string;
  /** choices returned */
  n: number;
  /** candidates generated (best_of, else n) */
  bestOf: number;
  /** best_of was given: candidates are ranked by self-certainty, else choices keep sampling order */
  ranked: boolean;
  temperature: number;
  topP: number;
  /** max_tokens (or max_completion_tokens); undefined: the endpoint's default */
  maxTokens: number | undefined;
  stop: string[];
  seed: number | undefined;
  /** -2..2, OpenAI's semantics over each choice's generated tokens */
  frequencyPenalty: number;
  presencePenalty: number;
  /** log-probabilities asked for: alternatives per token (0 = only the chosen token's); undefined: none */
  logprobs: number | undefined;
  stream: boolean;
  /** stream_options.include_usage: a last chunk carries the usage */
  includeUsage: boolean;
  selection: SelectionParams | undefined;
}

export interface ChatParams extends GenerationParams {
  kind: 'chat';
  messages: ChatMessage[];
}

/** One prompt of /v1/completions: text, or token ids as given. */
export type PromptInput = { text: string } | { ids: number[] };

export interface CompletionParams extends GenerationParams {
  kind: 'completion';
  /** one or more prompts; their choices come prompt-major (index = prompt * n + i) */
  prompts: PromptInput[];
  /** the prompt is prepended to each choice's text (and its tokens to the log-probabilities) */
  echo: boolean;
}

/** Most alternatives per token: chat's top_logprobs, the legacy endpoint's logprobs (OpenAI's bounds). */
export const MAX_TOP_LOGPROBS = 20;
export const MAX_LEGACY_LOGPROBS = 5;

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool'];

export function parseChatRequest(body: unknown, limits: ServeLimits): ChatParams {
  const obj = requireBody(body);
  unsupported(obj, 'tools', (v) => Array.isArray(v) && v.length > 0);
  unsupported(obj, 'functions', (v) => Array.isArray(v) && v.length > 0);
  unsupported(obj, 'audio', (v) => v !== undefined);
  const format = optionalObject(obj, 'response_format');
  if (format && format.type !== 'text') throw invalidRequest(`'response_format' of type ${JSON.stringify(format.type)} is not supported by this server; only "text" is.`, 'response_format.type', 'unsupported_parameter');
  const messages = parseMessages(field(obj, 'messages'));
  const maxCompletionTokens = optionalInteger(obj, 'max_completion_tokens', { min: 1, max: limits.maxTokens });
  const common = parseCommon(obj, limits);
  if (common.maxTokens === 0) throw atLeastOneToken('max_tokens');
  const logprobs = optionalBoolean(obj, 'logprobs') ?? false;
  const topLogprobs = optionalInteger(obj, 'top_logprobs', { min: 0, max: MAX_TOP_LOGPROBS });
  if (topLogprobs !== undefined && !logprobs) throw invalidRequest("Invalid 'top_logprobs': it needs 'logprobs' to be true.", 'top_logprobs', 'invalid_value');
  return { kind: 'chat', messages, ...common, maxTokens: maxCompletionTokens ?? common.maxTokens, logprobs: logprobs ? (topLogprobs ?? 0) : undefined };
}

export function parseCompletionRequest(body: unknown, limits: ServeLimits): CompletionParams {
  const obj = requireBody(body);
  unsupported(obj, 'suffix', (v) => v !== undefined && v !== '');
  const prompts = parsePrompts(field(obj, 'prompt'));
  const echo = optionalBoolean(obj, 'echo') ?? false;
  const logprobs = optionalInteger(obj, 'logprobs', { min: 0, max: MAX_LEGACY_LOGPROBS });
  const common = parseCommon(obj, limits);
  // max_tokens 0 with echo scores the prompt and generates nothing (a loglikelihood request).
  if (common.maxTokens === 0 && !echo) throw atLeastOneToken('max_tokens', " unless 'echo' is true");
  if (common.maxTokens === 0 && common.stream) throw invalidRequest("Invalid 'max_tokens': 0 (echo only) cannot be streamed.", 'max_tokens', 'invalid_value');
  if (prompts.length > 1) {
    const most = Math.max(limits.maxBatchSequences, limits.maxBestOf);
    if (prompts.length * common.bestOf > most) {
      throw invalidRequest(
        `Invalid 'prompt': ${prompts.length} prompts x ${common.bestOf} candidates each is ${prompts.length * common.bestOf} sequences; this server generates at most ${most} per request.`,
        'prompt',
        'array_above_max_length',
      );
    }
    if (common.selection) throw invalidRequest("'selection' chooses among the candidates of one prompt; send one prompt per request to use it.", 'selection', 'invalid_value');
  }
  return { kind: 'completion', prompts, echo, ...common, logprobs };
}

function atLeastOneToken(param: string, unless = ''): ApiError {
  return invalidRequest(`Invalid '${param}': integer below minimum value. Expected a value >= 1${unless}, but got 0 instead.`, param, 'integer_below_min_value');
}

function requireBody(body: unknown): JsonObject {
  if (!isObject(body)) throw invalidRequest(`The request body must be a JSON object, got ${body === undefined ? 'nothing' : Array.isArray(body) ? 'an array' : typeof body}.`, null, 'invalid_body');
  return body;
}

function unsupported(obj: JsonObject, key: string, used: (value: unknown) => boolean): void {
  if (used(field(obj, key))) throw invalidRequest(`The parameter '${key}' is not supported by this server.`, key, 'unsupported_parameter');
}

function parseCommon(obj: JsonObject, limits: ServeLimits): GenerationParams {
  const model = requiredString(obj, 'model');
  const n = optionalInteger(obj, 'n', { min: 1, max: limits.maxN }) ?? 1;
  const bestOfGiven = optionalInteger(obj, 'best_of', { min: 1, max: limits.maxBestOf });
  if (bestOfGiven !== undefined && bestOfGiven < n) {
    throw invalidRequest(`Invalid 'best_of': best_of must be greater than or equal to n (${n}), but got ${bestOfGiven}.`, 'best_of', 'invalid_value');
  }
  const temperature = optionalNumber(obj, 'temperature', { min: 0, max: 2 }) ?? 1;
  const topP = optionalNumber(obj, 'top_p', { min: 0, max: 1 }) ?? 1;
  // 0 only for the legacy endpoint's echo (checked by the caller)
  const maxTokens = optionalInteger(obj, 'max_tokens', { min: 0, max: limits.maxTokens });
  const seed = optionalInteger(obj, 'seed', { min: 0 });
  const stream = optionalBoolean(obj, 'stream') ?? false;
  const streamOptions = optionalObject(obj, 'stream_options');
  if (streamOptions && !stream) throw invalidRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options', 'invalid_value');
  const includeUsage = (streamOptions && optionalBoolean(streamOptions, 'include_usage', 'stream_options.include_usage')) ?? false;
  // -0 is 0: no penalty, the unpenalised sampling path
  const frequencyPenalty = (optionalNumber(obj, 'frequency_penalty', { min: -2, max: 2 }) ?? 0) + 0;
  const presencePenalty = (optionalNumber(obj, 'presence_penalty', { min: -2, max: 2 }) ?? 0) + 0;
  const bias = optionalObject(obj, 'logit_bias');
  if (bias && Object.keys(bias).length > 0) throw invalidRequest("The parameter 'logit_bias' is not supported by this server.", 'logit_bias', 'unsupported_parameter');
  const selection = parseSelection(field(obj, 'selection'));
  const bestOf = bestOfGiven ?? n;
  if (stream && bestOf > n) throw invalidRequest(`Cannot stream results with best_of (${bestOf}) greater than n (${n}).`, 'best_of', 'invalid_value');
  if (stream && selection) throw invalidRequest("'selection' needs every candidate before choosing one, so it cannot be combined with 'stream'.", 'selection', 'invalid_value');
  return {
    model,
    n,
    bestOf,
    ranked: bestOfGiven !== undefined,
    temperature,
    // top_p = 0 means "only the most likely token"; generation wants p > 0 and always keeps that one.
    topP: Math.max(topP, 1e-6),
    maxTokens,
    stop: parseStop(field(obj, 'stop')),
    seed,
    frequencyPenalty,
    presencePenalty,
    logprobs: undefined,
    stream,
    includeUsage,
    selection,
  };
}

function parseStop(value: unknown): string[] {
  if (value === undefined) return [];
  if (typeof value === 'string') return value === '' ? [] : [checkText('stop', value)];
  if (!Array.isArray(value)) throw wrongType('stop', 'a string or an array of strings', value);
  if (value.length > 4) {
    throw invalidRequest(`Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length ${value.length} instead.`, 'stop', 'array_above_max_length');
  }
  value.forEach((s, i) => {
    if (typeof s !== 'string') throw wrongType(`stop[${i}]`, 'a string', s);
    checkText(`stop[${i}]`, s);
  });
  return (value as string[]).filter((s) => s !== '');
}

function parseSelection(value: unknown): SelectionParams | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw wrongType('selection', 'an object', value);
  const method = requiredString(value, 'method', 'selection.method');
  if (!(SELECTION_METHODS as readonly string[]).includes(method)) {
    throw invalidRequest(`Invalid 'selection.method': ${JSON.stringify(method)}. Expected one of ${SELECTION_METHODS.join(', ')}.`, 'selection.method', 'invalid_value');
  }
  const p = optionalNumber(value, 'p', { min: 0 }, 'selection.p');
  if (p !== undefined && method !== 'borda') throw invalidRequest("'selection.p' is the Borda power; it only applies to method 'borda'.", 'selection.p', 'invalid_value');
  return { method: method as SelectionMethod, p };
}

const PROMPT_TYPES = 'a string, an array of strings, an array of token ids or an array of arrays of token ids';

/** prompt: "text" | ["text", ...] | [id, ...] | [[id, ...], ...]. */
function parsePrompts(value: unknown): PromptInput[] {
  if (value === undefined) throw missing('prompt');
  if (typeof value === 'string') return [{ text: checkText('prompt', value) }];
  if (!Array.isArray(value)) throw wrongType('prompt', PROMPT_TYPES, value);
  if (value.length === 0) throw invalidRequest("Invalid 'prompt': empty array. Expected at least one prompt.", 'prompt', 'empty_array');
  if (typeof value[0] === 'number') return [{ ids: parseTokenIds(value, 'prompt') }];
  return value.map((item, i): PromptInput => {
    const param = `prompt[${i}]`;
    if (typeof item === 'string') return { text: checkText(param, item) };
    if (Array.isArray(item)) return { ids: parseTokenIds(item, param) };
    throw wrongType(param, 'a string or an array of token ids', item);
  });
}

/** Token ids: non-negative integers (the engine's vocabulary bound is checked with the engine). */
function parseTokenIds(value: unknown[], param: string): number[] {
  value.forEach((id, j) => {
    if (typeof id !== 'number' || !Number.isInteger(id)) throw wrongType(`${param}[${j}]`, 'an integer token id', id);
    if (id < 0) throw invalidRequest(`Invalid '${param}[${j}]': token ids are >= 0, but got ${id}.`, `${param}[${j}]`, 'integer_below_min_value');
  });
  return value as number[];
}

function parseMessages(value: unknown): ChatMessage[] {
  if (value === undefined) throw missing('messages');
  if (!Array.isArray(value)) throw wrongType('messages', 'an array', value);
  if (value.length === 0) throw invalidRequest("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'messages', 'empty_array');
  return value.map((message, i) => {
    const param = `messages[${i}]`;
    if (!isObject(message)) throw wrongType(param, 'an object', message);
    const role = requiredString(message, 'role', `${param}.role`);
    if (!ROLES.includes(role)) {
      throw invalidRequest(`Invalid value for '${param}.role': ${JSON.stringify(role)}. Supported values are: ${ROLES.join(', ')}.`, `${param}.role`, 'invalid_value');
    }
    const content = parseContent(field(message, 'content'), role, `${param}.content`);
    return { role: role === 'developer' ? 'system' : role, content };
  });
}

function parseContent(value: unknown, role: string, param: string): string {
  if (value === undefined) {
    if (role === 'assistant') return '';
    throw missing(param);
  }
  if (typeof value === 'string') return checkText(param, value);
  if (!Array.isArray(value)) throw wrongType(param, 'a string or an array of content parts', value);
  return value
    .map((part, j) => {
      if (!isObject(part)) throw wrongType(`${param}[${j}]`, 'an object', part);
      if (part.type !== 'text') throw invalidRequest(`Content parts of type ${JSON.stringify(part.type)} are not supported by this server; only "text" is.`, `${param}[${j}].type`, 'invalid_value');
      return checkText(`${param}[${j}].text`, requiredString(part, 'text', `${param}[${j}].text`));
    })
    .join('');
}
