// Streaming plumbing: an async channel that turns pushed events into an AsyncIterable (cancelled
// when its consumer stops early), and the per-sequence text deltas of a stream.
//
// Deltas are computed from the decoded text of every token so far, holding back what may still
// change: trailing U+FFFD (a character whose UTF-8 bytes span tokens) and a tail that could be the
// start of a stop string (the final text is cut before a stop string). The last delta is taken
// against the sequence's final text, so the concatenated deltas equal the non-streamed text.

import { firstStop, unstableTail } from '../generate/stop-strings.ts';

/** A single-consumer async queue. */
export class EventChannel<T> implements AsyncIterableIterator<T> {
  #buffer: T[] = [];
  #pending: ((result: IteratorResult<T>) => void) | undefined;
  #ended = false;
  #cancelled = false;
  readonly #onCancel: (() => void) | undefined;

  constructor(onCancel?: () => void) {
    this.#onCancel = onCancel;
  }

  /** The consumer stopped early (pushes are dropped from then on). */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  push(value: T): void {
    if (this.#ended || this.#cancelled) return;
    const pending = this.#pending;
    if (pending) {
      this.#pending = undefined;
      pending({ value, done: false });
    } else {
      this.#buffer.push(value);
    }
  }

  /** No more events: the consumer gets what is buffered, then the end. */
  end(): void {
    this.#ended = true;
    const pending = this.#pending;
    if (pending && this.#buffer.length === 0) {
      this.#pending = undefined;
      pending({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#buffer.length > 0) return Promise.resolve({ value: this.#buffer.shift()!, done: false });
    if (this.#ended || this.#cancelled) return Promise.resolve({ value: undefined, done: true });
    if (this.#pending) return Promise.reject(new Error('EventChannel: next() called again before the previous call resolved'));
    return new Promise((resolve) => (this.#pending = resolve));
  }

  /** The consumer is done (e.g. the client disconnected). */
  return(): Promise<IteratorResult<T>> {
    if (!this.#cancelled && !this.#ended) {
      this.#cancelled = true;
      this.#onCancel?.();
    }
    this.#buffer = [];
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** The text deltas of one streamed sequence. */
export class DeltaDecoder {
  readonly #decode: (tokenIds: number[]) => string;
  readonly #stop: readonly string[];
  readonly #tokens: number[] = [];
  #decoded = '';
  #sent = '';

  constructor(decode: (tokenIds: number[]) => string, stop: readonly string[]) {
    this.#decode = decode;
    this.#stop = stop;
  }

  /** Every token so far, decoded (before any stop string is cut): where the next token's text starts. */
  get decoded(): string {
    return this.#decoded;
  }

  /** The text sent so far. */
  get sent(): string {
    return this.#sent;
  }

  /** The text that became final with this token ('' when nothing did). */
  push(tokenId: number): string {
    this.#tokens.push(tokenId);
    let text = this.#decode(this.#tokens);
    this.#decoded = text;
    const at = firstStop(text, this.#stop);
    if (at !== -1) text = text.slice(0, at);
    return this.#advance(text.slice(0, text.length - unstableTail(text, this.#stop)));
  }

  /** What is left to send once the sequence's final text is known. */
  finish(finalText: string): string {
    return this.#advance(finalText);
  }

  #advance(visible: string): string {
    if (!visible.startsWith(this.#sent)) return '';
    const delta = visible.slice(this.#sent.length);
    this.#sent = visible;
    return delta;
  }
}
