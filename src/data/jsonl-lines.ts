// The lines of a JSONL file, streamed as bytes and bounded: each line is decoded as strict UTF-8
// and parsed on its own, so one bad line is reported (or skipped) as `file:line: ...` while the rest
// still read. A UTF-8 byte-order mark before the first line and CRLF line ends are accepted. A line
// longer than `maxLineBytes` is refused as soon as that many bytes have arrived and the rest of it is
// discarded unread into memory, so a 50 MB line costs a scan, not a parse, a tokenization or tensors.

import { createReadStream } from 'node:fs';
import { decodeUtf8, describeValue, fsErrorMessage, isJsonObject, parseJson } from '../config/json-file.ts';

/** 8 MiB: far above any prompt a context window holds, far below what would exhaust memory. */
export const DEFAULT_MAX_LINE_BYTES = 8 * 1024 * 1024;

/** One non-blank line: its JSON object, or why it is not one. */
export type JsonlLine = { line: number; value: Record<string, unknown> } | { line: number; error: string };

export interface JsonlOptions {
  maxLineBytes?: number;
}

function parseLine(bytes: Buffer, line: number, source: string): JsonlLine | undefined {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length; // CRLF
  let text: string;
  try {
    // decodeUtf8 drops a byte-order mark and counts bytes from the line's start, the mark included
    text = decodeUtf8(bytes.subarray(0, end), source, line);
  } catch (error) {
    return { line, error: (error as Error).message };
  }
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = parseJson(text, source, line);
  } catch (error) {
    return { line, error: (error as Error).message };
  }
  if (!isJsonObject(value)) return { line, error: `${source}:${line}: expected a JSON object per line, found ${describeValue(value)}` };
  return { line, value };
}

/** Every non-blank line of a JSONL file, in order; fs errors (missing file, a folder) throw, naming the path. */
export async function* jsonlLines(path: string, options: JsonlOptions = {}): AsyncGenerator<JsonlLine> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const source = path;
  const stream = createReadStream(path);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 1;
  let discarding = false; // inside a line already refused for its length
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let from = 0;
      while (from < chunk.length) {
        const newline = chunk.indexOf(0x0a, from);
        const end = newline === -1 ? chunk.length : newline;
        if (!discarding) {
          pending.push(chunk.subarray(from, end));
          pendingBytes += end - from;
          if (pendingBytes > maxLineBytes) {
            discarding = true;
            pending = [];
            pendingBytes = 0;
            yield { line, error: `${source}:${line}: the line is longer than ${maxLineBytes} bytes; a row must be smaller (is this a JSONL file?)` };
          }
        }
        if (newline === -1) break;
        if (!discarding) {
          const parsed = parseLine(Buffer.concat(pending, pendingBytes), line, source);
          if (parsed) yield parsed;
        }
        pending = [];
        pendingBytes = 0;
        discarding = false;
        line += 1;
        from = newline + 1;
      }
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code) throw new Error(fsErrorMessage(path, error, 'dataset'), { cause: error });
    throw error;
  } finally {
    stream.destroy();
  }
  if (!discarding && pendingBytes > 0) {
    const parsed = parseLine(Buffer.concat(pending, pendingBytes), line, source);
    if (parsed) yield parsed;
  }
}
