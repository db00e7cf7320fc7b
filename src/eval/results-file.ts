// A JSONL file that grows one complete line per finished unit of work (bon's results, a training
// run's metrics.jsonl), so a run that is stopped (even killed) can resume: a line is written with
// one append; a last line cut short by a crash is left out on reading, and the run redoes that unit.

import { closeSync, existsSync, fsyncSync, openSync, truncateSync, writeSync } from 'node:fs';
import { decodeUtf8, readFileBytes } from '../config/json-file.ts';

/**
 * The complete lines of `path` parsed (none when it does not exist), and the bytes they take: a
 * last line without its newline is left out. A complete line that is not JSON throws the message
 * `describe` makes of its line number and the parser's error.
 */
export function readCompleteJsonLines<T>(path: string, describe: (line: number, message: string) => string): { records: T[]; completeBytes: number; cut: boolean } {
  if (!existsSync(path)) return { records: [], completeBytes: 0, cut: false };
  // Bytes first: the cut is found in bytes (a cut line may end inside a UTF-8 sequence), and only
  // the complete lines are decoded, strictly.
  const bytes = readFileBytes(path);
  const completeBytes = bytes.lastIndexOf(0x0a) + 1;
  const records: T[] = [];
  decodeUtf8(bytes.subarray(0, completeBytes), path)
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        records.push(JSON.parse(line) as T);
      } catch (e) {
        throw new Error(describe(i + 1, (e as Error).message));
      }
    });
  return { records, completeBytes, cut: completeBytes < bytes.length };
}

/** The complete records of `path` (none when it does not exist); truncates a partial last line. */
export function readResults<T>(path: string): T[] {
  const { records, completeBytes, cut } = readCompleteJsonLines<T>(path, (line, message) => `${path}:${line}: not a results record (${message}); use another output file`);
  if (cut) truncateSync(path, completeBytes);
  return records;
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
