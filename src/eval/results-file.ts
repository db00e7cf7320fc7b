// A JSONL results file that grows one complete line per finished item, so a run that is stopped
// (even killed) can resume: a line is written with one append and flushed to disk; a last line
// cut short by a crash is dropped on reading, and the run redoes that item.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';

/** The complete records of `path` (none when it does not exist); truncates a partial last line. */
export function readResults<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const complete = text.lastIndexOf('\n') + 1;
  if (complete < text.length) truncateSync(path, Buffer.byteLength(text.slice(0, complete)));
  return text
    .slice(0, complete)
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as T;
      } catch (e) {
        throw new Error(`${path}:${i + 1}: not a results record (${(e as Error).message}); use another output file`);
      }
    });
}

/** Appends one record as a line and flushes it to disk. */
export function appendResult(path: string, record: unknown): void {
  const fd = openSync(path, 'a');
  try {
    writeSync(fd, `${JSON.stringify(record)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
