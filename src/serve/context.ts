// What the handler serves with: the engine, the limits, the API key, the scheduler that serializes
// generation and the redaction of error messages. Built once per server; the handler keeps no state.

import { pathRedactor } from './errors.ts';
import { resolveLimits, type ServeLimits } from './limits.ts';
import { Scheduler } from './scheduler.ts';
import type { Engine } from './types.ts';

export interface ServeContext {
  engine: Engine;
  limits: ServeLimits;
  /** when set, every /v1 request needs `Authorization: Bearer <apiKey>` */
  apiKey: string | undefined;
  scheduler: Scheduler;
  /** unexpected errors (the client sees a generic 500) */
  onError: (error: unknown) => void;
  /** clears a message for a client: the engine's private paths become the model id */
  redact: (text: string) => string;
}

export interface ServeContextOptions {
  engine: Engine;
  limits?: Partial<ServeLimits>;
  apiKey?: string | undefined;
  onError?: (error: unknown) => void;
}

export function createServeContext(options: ServeContextOptions): ServeContext {
  const limits = resolveLimits(options.engine, options.limits);
  if (options.apiKey !== undefined && options.apiKey.trim() === '') throw new Error('the API key must not be empty');
  const onError = options.onError ?? ((error: unknown) => console.error('intuitor serve:', error));
  const scheduler = new Scheduler(options.engine, { queueCapacity: limits.queueCapacity, maxBatchSequences: limits.maxBatchSequences, onError });
  const redact = pathRedactor(options.engine.privatePaths ?? [], options.engine.modelId);
  return { engine: options.engine, limits, apiKey: options.apiKey, scheduler, onError, redact };
}
