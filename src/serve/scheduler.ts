// The one queue in front of the engine. Generation is serialized: one generate() call at a time.
// Requests that wait while a batch runs are combined into the next call when their sampling
// settings match (same max_tokens, temperature, top_p, penalties and stop strings, no seed), up to
// maxBatchSequences rows; every candidate of every prompt of every request is one row. Top
// log-probabilities are computed for the batch when any of its jobs asks, and each job gets back
// as many as it asked for (none when it asked for none). A request with a seed
// always runs alone, so its rows, and therefore its sequences, do not depend on other traffic.
// At most queueCapacity requests wait; one more is refused at once (429), never queued.
// A job's AbortSignal cancels it: while it waits it leaves the queue at once; while it runs its
// rows stop generating (the other requests of its batch are unaffected). Either way its promise
// rejects with a RequestCancelledError at once.

import { queueFull, RequestCancelledError, serverError } from './errors.ts';
import type { Engine, EngineSequence, SamplingSettings, TokenScores } from './types.ts';

export interface GenerationJob {
  /** one or more prompts; the job's sequences come back prompt-major (count per prompt) */
  prompts: number[][];
  /** sequences to sample from each prompt */
  count: number;
  sampling: SamplingSettings;
  /** alternatives per generated token to return (EngineSequence.topLogprobs); 0 or absent: none */
  topLogprobs?: number;
  /** per token of each of this job's sequences (candidate = prompt * count + 0..count-1) */
  onToken?: (candidate: number, tokenId: number, scores: TokenScores) => void;
  /** cancels the job (its client went away): see the top of this file */
  signal?: AbortSignal;
}

interface Waiting {
  job: GenerationJob;
  key: string | undefined;
  resolve: (sequences: EngineSequence[]) => void;
  reject: (error: unknown) => void;
}

export interface SchedulerOptions {
  queueCapacity: number;
  maxBatchSequences: number;
  /** called with an engine failure (the requests get a generic 500) */
  onError?: (error: unknown) => void;
}

export interface SchedulerStats {
  /** generate() calls made */
  batches: number;
  /** requests answered through them */
  requests: number;
  /** the most requests combined into one call */
  largestBatch: number;
  /** requests cancelled through their signal (waiting or running) */
  cancelled: number;
}

export class Scheduler {
  readonly #engine: Engine;
  readonly #options: SchedulerOptions;
  readonly #waiting: Waiting[] = [];
  #running = false;
  #kicked = false;
  #idle: (() => void)[] = [];
  readonly stats: SchedulerStats = { batches: 0, requests: 0, largestBatch: 0, cancelled: 0 };

  constructor(engine: Engine, options: SchedulerOptions) {
    this.#engine = engine;
    this.#options = options;
  }

  /** Requests waiting for the engine (not counting the batch that runs). */
  get waiting(): number {
    return this.#waiting.length;
  }

  get busy(): boolean {
    return this.#running || this.#waiting.length > 0;
  }

  /**
   * Queues a job. When the queue is full this throws the 429 ApiError synchronously (before any
   * promise exists), so a caller can refuse a request before it starts a response.
   */
  submit(job: GenerationJob): Promise<EngineSequence[]> {
    if (this.#waiting.length >= this.#options.queueCapacity) throw queueFull(this.#waiting.length);
    const { maxNewTokens, temperature, topP, stop, seed, frequencyPenalty, presencePenalty } = job.sampling;
    const key = seed === undefined ? JSON.stringify([maxNewTokens, temperature, topP, stop, frequencyPenalty, presencePenalty]) : undefined;
    const signal = job.signal;
    if (signal?.aborted) {
      this.stats.cancelled++;
      return Promise.reject(new RequestCancelledError());
    }
    const promise = new Promise<EngineSequence[]>((resolve, reject) => {
      if (!signal) {
        this.#waiting.push({ job, key, resolve, reject });
        return;
      }
      const entry: Waiting = {
        job,
        key,
        resolve: (sequences) => {
          signal.removeEventListener('abort', onAbort);
          resolve(sequences);
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = () => this.#cancel(entry);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(entry);
    });
    this.#kick();
    return promise;
  }

  // A waiting job leaves the queue; a running one is only rejected here (its rows see the signal).
  #cancel(entry: Waiting): void {
    const at = this.#waiting.indexOf(entry);
    if (at !== -1) this.#waiting.splice(at, 1);
    this.stats.cancelled++;
    entry.reject(new RequestCancelledError());
  }

  /** Resolves once nothing runs or waits. */
  whenIdle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  // Starts the loop on the next turn of the event loop, so requests that arrive together batch.
  #kick(): void {
    if (this.#running || this.#kicked) return;
    this.#kicked = true;
    setImmediate(() => {
      this.#kicked = false;
      void this.#loop();
    });
  }

  async #loop(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      while (this.#waiting.length > 0) await this.#run(this.#takeBatch());
    } finally {
      this.#running = false;
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /** The first waiting job and every later compatible one that fits. */
  #takeBatch(): Waiting[] {
    const first = this.#waiting.shift()!;
    const batch = [first];
    if (first.key === undefined) return batch;
    let rows = rowsOf(first.job);
    for (let i = 0; i < this.#waiting.length; ) {
      const next = this.#waiting[i]!;
      if (next.key === first.key && rows + rowsOf(next.job) <= this.#options.maxBatchSequences) {
        batch.push(next);
        rows += rowsOf(next.job);
        this.#waiting.splice(i, 1);
      } else {
        i++;
      }
    }
    return batch;
  }

  async #run(batch: Waiting[]): Promise<void> {
    const owners: { job: GenerationJob; candidate: number }[] = [];
    const prompts: number[][] = [];
    for (const { job } of batch) {
      job.prompts.forEach((prompt, p) => {
        for (let c = 0; c < job.count; c++) {
          owners.push({ job, candidate: p * job.count + c });
          prompts.push(prompt);
        }
      });
    }
    const topLogprobs = Math.max(0, ...batch.map((w) => w.job.topLogprobs ?? 0));
    const streaming = batch.some((w) => w.job.onToken);
    const cancellable = batch.some((w) => w.job.signal);
    this.stats.batches++;
    this.stats.requests += batch.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    try {
      const sequences = await this.#engine.generate({
        ...batch[0]!.job.sampling,
        prompts,
        ...(topLogprobs > 0 ? { topLogprobs } : {}),
        ...(streaming
          ? {
              onToken: (row: number, tokenId: number, scores: TokenScores) => {
                const owner = owners[row];
                if (owner?.job.signal?.aborted) return;
                try {
                  owner?.job.onToken?.(owner.candidate, tokenId, trimScores(scores, owner.job.topLogprobs ?? 0));
                } catch (error) {
                  this.#options.onError?.(error);
                }
              },
            }
          : {}),
        ...(cancellable ? { isCancelled: (row: number) => owners[row]?.job.signal?.aborted === true } : {}),
      });
      if (sequences.length !== prompts.length) throw new Error(`the engine returned ${sequences.length} sequences for ${prompts.length} rows`);
      let offset = 0;
      for (const w of batch) {
        const rows = rowsOf(w.job);
        // A cancelled job was rejected when its signal fired; its cut-short rows go nowhere.
        if (!w.job.signal?.aborted) w.resolve(sequences.slice(offset, offset + rows).map((s) => trimSequence(s, w.job.topLogprobs ?? 0)));
        offset += rows;
      }
    } catch (error) {
      this.#options.onError?.(error);
      for (const w of batch) w.reject(serverError());
    }
  }
}

function rowsOf(job: GenerationJob): number {
  return job.prompts.length * job.count;
}

// A job gets the alternatives it asked for, whatever its batch computed: its results do not
// depend on the other requests it was batched with.
function trimScores(scores: TokenScores, k: number): TokenScores {
  if (!scores.topLogprobs) return scores;
  return k > 0 ? { logprob: scores.logprob, topLogprobs: scores.topLogprobs.slice(0, k) } : { logprob: scores.logprob };
}

function trimSequence(sequence: EngineSequence, k: number): EngineSequence {
  if (!sequence.topLogprobs) return sequence;
  const { topLogprobs, ...rest } = sequence;
  return k > 0 ? { ...rest, topLogprobs: topLogprobs.map((top) => top.slice(0, k)) } : rest;
}
