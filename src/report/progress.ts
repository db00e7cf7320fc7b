// Progress for long work: a redrawn bar with rate and ETA on a terminal, periodic plain lines
// when the stream is not a terminal (CI logs, files), so logs stay readable.

import type { Writable } from 'node:stream';

export interface ProgressOptions {
  label: string;
  total: number;
  /** unit of work, for the rate ("items/s") */
  unit?: string;
  stream?: Writable & { isTTY?: boolean; columns?: number };
  /** without a terminal: at most one line per this many milliseconds (default 10 s) */
  logIntervalMs?: number;
  /** for tests: the clock */
  now?: () => number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(rest).padStart(2, '0')}s` : `${rest}s`;
}

export class Progress {
  readonly #options: Required<Omit<ProgressOptions, 'stream'>> & { stream: ProgressOptions['stream'] };
  readonly #started: number;
  #done = 0;
  /** units done before this run (resumed work): counted in the total, not in the rate */
  #resumed = 0;
  #lastLog = -Infinity;
  #note = '';

  constructor(options: ProgressOptions) {
    this.#options = { unit: 'items', stream: process.stderr, logIntervalMs: 10_000, now: () => performance.now(), ...options };
    this.#started = this.#options.now();
  }

  get done(): number {
    return this.#done;
  }

  /** Counts units finished by an earlier run (a resumed job): they do not enter the rate or ETA. */
  resume(count: number): void {
    this.#done += count;
    this.#resumed += count;
  }

  /** Marks `count` more units done; `note` is shown after the counts (e.g. the running accuracy). */
  tick(count = 1, note?: string): void {
    this.#done += count;
    if (note !== undefined) this.#note = note;
    this.#render(false);
  }

  /** Prints the final line. */
  finish(note?: string): void {
    if (note !== undefined) this.#note = note;
    this.#render(true);
  }

  line(): string {
    const { label, total, unit } = this.#options;
    const elapsed = (this.#options.now() - this.#started) / 1000;
    const rate = (this.#done - this.#resumed) / Math.max(elapsed, 1e-9);
    const eta = this.#done >= total ? 0 : (total - this.#done) / rate;
    const percent = total > 0 ? Math.floor((100 * this.#done) / total) : 100;
    const timing = this.#done >= total ? `in ${formatDuration(elapsed)}` : `ETA ${this.#done === this.#resumed ? '?' : formatDuration(eta)}`;
    return `${label} ${this.#done}/${total} (${percent}%) ${rate.toFixed(rate < 10 ? 2 : 1)} ${unit}/s ${timing}${this.#note ? `  ${this.#note}` : ''}`;
  }

  #render(final: boolean): void {
    const stream = this.#options.stream;
    if (!stream) return;
    if (stream.isTTY) {
      const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - 60));
      const filled = Math.round((width * Math.min(this.#done, this.#options.total)) / Math.max(1, this.#options.total));
      stream.write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.line()}${final ? '\n' : ''}`);
      return;
    }
    const now = this.#options.now();
    if (final || now - this.#lastLog >= this.#options.logIntervalMs) {
      this.#lastLog = now;
      stream.write(`${this.line()}\n`);
    }
  }
}
