// `intuitor serve`: an OpenAI-compatible HTTP server for a model folder (chat completions,
// completions, models) with self-certainty best-of-N. Prints the URL it listens on and shuts down
// cleanly on SIGINT / SIGTERM (or when `signal` aborts): stops listening, lets the requests in
// flight finish, then frees the model.

import { loadModelEngine } from '../serve/engine.ts';
import { createServeContext } from '../serve/context.ts';
import { DEFAULT_LIMITS } from '../serve/limits.ts';
import { isLoopbackHost, startServer, type RunningServer } from '../serve/http.ts';
import { checkFlagValues, type FlagSpecs, type FlagValues } from '../config/flags.ts';
import { checkDtypeDevice, deviceFlags } from '../config/device-flags.ts';
import type { CommandIo } from './generate.ts';

export const serveFlags = {
  model: { type: 'string', required: true, help: 'model folder in Hugging Face layout (config.json, safetensors, tokenizer.json)' },
  servedModelName: { type: 'string', help: 'the model id clients send as "model" (default: the folder name)' },
  host: { type: 'string', default: '127.0.0.1', help: 'address to listen on; anything but loopback needs an API key' },
  port: { type: 'int', default: 8000, min: 0, max: 65535, help: 'port to listen on (0: any free port)' },
  apiKey: { type: 'string', help: 'require "Authorization: Bearer <key>" on /v1 (default: $INTUITOR_API_KEY)' },
  ...deviceFlags,
  maxN: { type: 'int', default: DEFAULT_LIMITS.maxN, min: 1, help: 'most choices (n) per request' },
  maxBestOf: { type: 'int', default: DEFAULT_LIMITS.maxBestOf, min: 1, help: 'most candidates (best_of) per request' },
  maxTokens: { type: 'int', default: DEFAULT_LIMITS.maxTokens, min: 1, help: 'most new tokens (max_tokens) per candidate' },
  maxPromptTokens: { type: 'int', min: 1, help: "most prompt tokens (default: the model's context length - 1)" },
  queue: { type: 'int', default: DEFAULT_LIMITS.queueCapacity, min: 1, help: 'requests that may wait for the model; more get 429' },
  maxBatch: { type: 'int', default: DEFAULT_LIMITS.maxBatchSequences, min: 1, help: 'most sequences generated together when requests are combined' },
  accessLog: { type: 'boolean', default: true, help: 'one line per request on stderr: method, path, status, milliseconds, prompt and completion tokens' },
} as const satisfies FlagSpecs;

export type ServeConfig = FlagValues<typeof serveFlags>;

/** Validates the flags together; the API key falls back to $INTUITOR_API_KEY. */
export function resolveServeConfig(values: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const flags = checkFlagValues(serveFlags, values);
  checkDtypeDevice(flags.dtype, flags.device);
  const config: ServeConfig = { ...flags, apiKey: flags.apiKey ?? (env.INTUITOR_API_KEY || undefined) };
  if (config.apiKey !== undefined && config.apiKey.trim() === '') throw new Error('--api-key must not be empty');
  if (config.maxBestOf < config.maxN) throw new Error(`--max-best-of (${config.maxBestOf}) must be at least --max-n (${config.maxN})`);
  if (!isLoopbackHost(config.host) && config.apiKey === undefined) {
    throw new Error(`--host ${config.host} is reachable from other machines: set --api-key (or INTUITOR_API_KEY), or use a loopback address such as 127.0.0.1`);
  }
  return config;
}

export interface ServeRunOptions {
  /** stops the server when aborted (besides SIGINT / SIGTERM) */
  signal?: AbortSignal;
  /** called once the server listens */
  onListening?: (server: RunningServer) => void;
}

/** Runs the server until a signal; resolves once it has shut down. */
export async function runServe(config: ServeConfig, io: CommandIo, options: ServeRunOptions = {}): Promise<void> {
  const engine = await loadModelEngine(config.model, {
    dtype: config.dtype,
    device: config.device,
    ...(config.servedModelName !== undefined ? { modelId: config.servedModelName } : {}),
  });
  let server: RunningServer | undefined;
  try {
    const context = createServeContext({
      engine,
      apiKey: config.apiKey,
      limits: {
        maxN: config.maxN,
        maxBestOf: config.maxBestOf,
        maxTokens: config.maxTokens,
        queueCapacity: config.queue,
        maxBatchSequences: config.maxBatch,
        ...(config.maxPromptTokens !== undefined ? { maxPromptTokens: config.maxPromptTokens } : {}),
      },
      onError: (error) => io.stderr.write(`intuitor serve: error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`),
    });
    server = await startServer({ context, host: config.host, port: config.port, accessLog: config.accessLog && ((line) => io.stderr.write(`${line}\n`)) });
    io.stdout.write(`intuitor: serving ${engine.modelId} at ${server.url}/v1${config.apiKey ? ' (API key required)' : ''}; Ctrl-C stops\n`);
    options.onListening?.(server);
    const reason = await stopRequested(options.signal);
    io.stderr.write(`intuitor: ${reason}: shutting down (waiting for requests in flight)\n`);
    await server.close();
    await context.scheduler.whenIdle();
  } finally {
    if (server) await server.close().catch(() => undefined);
    engine.dispose();
  }
}

function stopRequested(signal: AbortSignal | undefined): Promise<string> {
  return new Promise((resolve) => {
    const finish = (reason: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      signal?.removeEventListener('abort', onAbort);
      resolve(reason);
    };
    const onInt = () => finish('SIGINT');
    const onTerm = () => finish('SIGTERM');
    const onAbort = () => finish('stopped');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    if (signal?.aborted) finish('stopped');
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}
