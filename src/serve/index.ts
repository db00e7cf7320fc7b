// intuitor's OpenAI-compatible server: a pure request -> response handler (handler.ts) over an
// engine interface, a scheduler that serializes and batches generation, and a thin fastify
// adapter (http.ts).
//
//   const engine = await loadModelEngine(dir);
//   const context = createServeContext({ engine, apiKey });
//   const server = await startServer({ context, port: 8000 });   // server.url, server.close()

export { handleRequest } from './handler.ts';
export { createServeContext, type ServeContext, type ServeContextOptions } from './context.ts';
export { createModelEngine, loadModelEngine, type ModelEngine } from './engine.ts';
export { DEFAULT_LIMITS, resolveLimits, type ServeLimits } from './limits.ts';
export { Scheduler, type GenerationJob, type SchedulerStats } from './scheduler.ts';
export { ApiError, RequestCancelledError } from './errors.ts';
export { DEFAULT_TIMEOUTS, isLoopbackHost, startServer, type RunningServer, type ServerTimeouts, type StartServerOptions } from './http.ts';
export { MAX_JSON_DEPTH } from './body.ts';
export {
  isStreamResponse,
  type Engine,
  type EngineBatch,
  type EngineSequence,
  type JsonResponse,
  type SamplingSettings,
  type ServeRequest,
  type ServeResponse,
  type StreamResponse,
} from './types.ts';
