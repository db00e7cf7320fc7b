// Chat templates with transformers' apply_chat_template semantics, rendered by @huggingface/jinja
// (which, like transformers, compiles with trim_blocks and lstrip_blocks). The template sees `messages`,
// `tools`, `documents` (null when not given, as in transformers), `add_generation_prompt`, the special
// tokens (bos_token, eos_token, pad_token, unk_token, additional_special_tokens, only those defined),
// any extra variables (e.g. enable_thinking), and the functions raise_exception and strftime_now.

import { Environment, Interpreter, Template } from '@huggingface/jinja';
import type { NamedChatTemplate } from './config-files.ts';

/** One chat turn. Extra keys (tool_calls, reasoning_content, ...) are passed to the template as they are. */
export interface ChatMessage {
  role: string;
  content: string;
  [key: string]: unknown;
}

export interface ChatTemplateOptions {
  /** Append the prompt that starts an assistant turn (transformers' add_generation_prompt); default false. */
  addGenerationPrompt?: boolean;
  /** A system message to put before `messages` (which must not start with one then). */
  systemPrompt?: string;
  /** Tool (function) JSON schemas, passed to the template as `tools`. */
  tools?: readonly Record<string, unknown>[];
  /** Retrieval documents, passed to the template as `documents`. */
  documents?: readonly Record<string, unknown>[];
  /** Extra template variables, e.g. { enable_thinking: false } for Qwen3. */
  variables?: Record<string, unknown>;
  /** A template string to use instead of the tokenizer's own. */
  chatTemplate?: string;
  /** Which of several named templates to use (default: "tool_use" when tools are given and it exists, else "default"). */
  templateName?: string;
  /** Return token ids (encoded without adding special tokens, as transformers does) instead of text; default true. */
  tokenize?: boolean;
}

/** Raised when a chat template cannot be chosen, parsed or rendered, or calls raise_exception. */
export class ChatTemplateError extends Error {
  override name = 'ChatTemplateError';
}

const RESERVED = ['messages', 'add_generation_prompt', 'tools', 'documents'];

/**
 * Picks the template to render, as transformers does: an explicit template string wins, then a named
 * template (from a list of {name, template}), then the only template. `source` names the folder in errors.
 */
export function selectChatTemplate(
  source: string,
  stored: string | readonly NamedChatTemplate[] | null | undefined,
  options: Pick<ChatTemplateOptions, 'chatTemplate' | 'templateName' | 'tools'>,
): string {
  if (options.chatTemplate !== undefined) {
    if (typeof options.chatTemplate !== 'string') throw new TypeError('applyChatTemplate: chatTemplate must be a string');
    return options.chatTemplate;
  }
  if (stored === undefined || stored === null) {
    throw new ChatTemplateError(
      `${source} has no chat_template in tokenizer_config.json; pass a template or use plain prompts`,
    );
  }
  if (typeof stored === 'string') {
    if (options.templateName !== undefined) {
      throw new ChatTemplateError(`${source}: templateName "${options.templateName}" given, but the folder has a single unnamed chat template`);
    }
    return stored;
  }
  const byName = new Map(stored.map((t) => [t.name, t.template]));
  const names = [...byName.keys()].sort().join(', ');
  if (options.templateName !== undefined) {
    const t = byName.get(options.templateName);
    if (t === undefined) throw new ChatTemplateError(`${source}: no chat template named "${options.templateName}" (available: ${names})`);
    return t;
  }
  if (options.tools !== undefined && byName.has('tool_use')) return byName.get('tool_use')!;
  const t = byName.get('default');
  if (t === undefined) {
    throw new ChatTemplateError(`${source}: several chat templates and none named "default"; pass templateName (available: ${names})`);
  }
  return t;
}

/** Prepends `systemPrompt` as a system message and checks the shape of every message. */
export function buildMessages(messages: readonly ChatMessage[], systemPrompt: string | undefined): ChatMessage[] {
  if (!Array.isArray(messages)) throw new TypeError('applyChatTemplate: messages must be an array of {role, content}');
  messages.forEach((m, i) => {
    if (typeof m !== 'object' || m === null || typeof m.role !== 'string') {
      throw new TypeError(`applyChatTemplate: messages[${i}] must be an object with a string "role"`);
    }
  });
  if (systemPrompt === undefined) return [...messages];
  if (typeof systemPrompt !== 'string') throw new TypeError('applyChatTemplate: systemPrompt must be a string');
  if (messages[0]?.role === 'system') {
    throw new Error('applyChatTemplate: systemPrompt given, but messages already start with a system message');
  }
  return [{ role: 'system', content: systemPrompt }, ...messages];
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * Python's datetime.strftime in the C locale (what transformers' strftime_now gives), for local time.
 * Supports %a %A %b %B %d %H %I %j %m %M %p %S %y %Y %%; other directives are left as they are.
 */
export function strftime(date: Date, format: string): string {
  return format.replace(/%[aAbBdHIjmMpSyY%]/g, (d) => {
    switch (d) {
      case '%a': return DAYS[date.getDay()]!.slice(0, 3);
      case '%A': return DAYS[date.getDay()]!;
      case '%b': return MONTHS[date.getMonth()]!.slice(0, 3);
      case '%B': return MONTHS[date.getMonth()]!;
      case '%d': return pad(date.getDate());
      case '%H': return pad(date.getHours());
      case '%I': return pad(date.getHours() % 12 === 0 ? 12 : date.getHours() % 12);
      case '%j': {
        const start = new Date(date.getFullYear(), 0, 1);
        const utc = (x: Date) => Date.UTC(x.getFullYear(), x.getMonth(), x.getDate());
        return pad((utc(date) - utc(start)) / 86_400_000 + 1, 3);
      }
      case '%m': return pad(date.getMonth() + 1);
      case '%M': return pad(date.getMinutes());
      case '%p': return date.getHours() < 12 ? 'AM' : 'PM';
      case '%S': return pad(date.getSeconds());
      case '%y': return pad(date.getFullYear() % 100);
      case '%Y': return String(date.getFullYear());
      default: return '%';
    }
  });
}

class RaisedByTemplate extends Error {}

/** Python's range(), as @huggingface/jinja defines it. */
function range(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error('range() step must not be zero');
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

/**
 * Template.render with our raise_exception (recognisable in errors) and strftime_now (C locale, as in
 * Python): @huggingface/jinja's render declares its own and refuses to redeclare them, so this sets up
 * the same globals (its setupGlobals in 0.5.x) on a fresh Environment and runs the Interpreter itself.
 */
function render(template: Template, items: Record<string, unknown>): string {
  const env = new Environment();
  const globals: Record<string, unknown> = {
    false: false, true: true, none: null, False: false, True: true, None: null, range,
    raise_exception: (message: unknown) => {
      throw new RaisedByTemplate(String(message));
    },
    strftime_now: (format: unknown) => strftime(new Date(), String(format)),
  };
  for (const [key, value] of Object.entries(globals)) env.set(key, value);
  for (const [key, value] of Object.entries(items)) {
    if (!(key in globals)) env.set(key, value);
  }
  const result = new Interpreter(env).run(template.parsed);
  return String(result.value);
}

const compiled = new Map<string, Template>();

function compile(source: string, template: string): Template {
  let t = compiled.get(template);
  if (t === undefined) {
    try {
      t = new Template(template);
    } catch (err) {
      throw new ChatTemplateError(`${source}: cannot parse the chat template: ${(err as Error).message}`, { cause: err });
    }
    if (compiled.size > 64) compiled.clear();
    compiled.set(template, t);
  }
  return t;
}

export interface RenderContext {
  messages: ChatMessage[];
  addGenerationPrompt: boolean;
  tools?: readonly Record<string, unknown>[] | undefined;
  documents?: readonly Record<string, unknown>[] | undefined;
  /** bos_token, eos_token, ... as strings: only the defined ones. */
  specialTokens: Record<string, string | string[]>;
  variables?: Record<string, unknown> | undefined;
}

/** Renders `template` with transformers' variables; `source` names the folder (or override) in errors. */
export function renderChatTemplate(source: string, template: string, ctx: RenderContext): string {
  const variables = ctx.variables ?? {};
  if (typeof variables !== 'object' || variables === null) throw new TypeError('applyChatTemplate: variables must be an object');
  for (const key of RESERVED) {
    if (key in variables) throw new TypeError(`applyChatTemplate: "${key}" is set by applyChatTemplate itself and cannot be a variable`);
  }
  const t = compile(source, template);
  try {
    return render(t, {
      ...ctx.specialTokens,
      ...variables,
      messages: ctx.messages,
      tools: ctx.tools ?? null,
      documents: ctx.documents ?? null,
      add_generation_prompt: ctx.addGenerationPrompt,
    });
  } catch (err) {
    if (err instanceof RaisedByTemplate) {
      throw new ChatTemplateError(`${source}: the chat template raised an exception: ${err.message}`, { cause: err });
    }
    throw new ChatTemplateError(`${source}: cannot render the chat template: ${(err as Error).message}`, { cause: err });
  }
}
