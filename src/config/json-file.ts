// Reading text and JSON files with errors that name the file: every configuration, run state and
// results file the project reads goes through here, so a corrupt, cut or misplaced file is reported
// as `path:line:column: what is wrong`, never as a bare `Unexpected end of JSON input` or `EISDIR`.
//
// Text is UTF-8, strictly: a byte-order mark is dropped, invalid bytes are an error naming the line
// and the byte within it (1-based, counted in bytes), not silently replaced.

import { readFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';

/** A one-line description of an fs error for `path` (ENOENT, EISDIR, EACCES, ...), naming the path. */
export function fsErrorMessage(path: string, error: unknown, what = 'file'): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason =
    code === 'ENOENT' ? 'no such file'
    : code === 'EISDIR' ? 'it is a folder, not a file'
    : code === 'ENOTDIR' ? 'a part of the path is a file, not a folder'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
    : (error as Error | undefined)?.message ?? String(error);
  return `${path}: cannot read the ${what}: ${reason}${code ? ` (${code})` : ''}`;
}

/** The bytes of a file; fs errors name the path. */
export function readFileBytes(path: string, what = 'file'): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(fsErrorMessage(path, error, what), { cause: error });
  }
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i += 1;
      continue;
    }
    // Continuation count and the allowed range of the second byte (no overlongs, no surrogates, <= U+10FFFF).
    let count: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) count = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      count = 2;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      count = 3;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else return i;
    const second = bytes[i + 1];
    if (second === undefined || second < low || second > high) return i;
    for (let k = 2; k <= count; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += count + 1;
  }
  return -1;
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Strict UTF-8 text of `bytes`, without a leading byte-order mark. Invalid bytes are an error
 * `source:line:byte: invalid UTF-8 ...`; `firstLine` numbers the first line (for a line of a larger file).
 */
export function decodeUtf8(bytes: Uint8Array, source: string, firstLine = 1): string {
  if (isUtf8(bytes)) return decoder.decode(bytes); // the decoder drops a BOM itself
  const bad = firstInvalidUtf8(bytes);
  let line = firstLine;
  let lineStart = 0;
  for (let i = 0; i < bad; i++) {
    if (bytes[i] === 0x0a) {
      line += 1;
      lineStart = i + 1;
    }
  }
  const hex = `0x${bytes[bad]!.toString(16).padStart(2, '0')}`;
  throw new Error(`${source}:${line}:${bad - lineStart + 1}: invalid UTF-8 (byte ${hex}); the file must be UTF-8 text`);
}

/** The UTF-8 text of a file (see decodeUtf8); fs errors name the path. */
export function readTextFile(path: string, what = 'file'): string {
  return decodeUtf8(readFileBytes(path, what), path);
}

/** "line:column" (1-based) of a character offset in `text` whose first line is `firstLine`. */
function lineColumn(text: string, offset: number, firstLine: number): string {
  let line = firstLine;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line += 1;
      start = i + 1;
    }
  }
  return `${line}:${offset - start + 1}`;
}

/**
 * JSON.parse whose errors name `source` and, where the engine gives a position, the line and
 * column: `source:line:column: not valid JSON: ...`. `line` says that `text` is that line of the
 * file (a JSONL row); errors then always name it.
 */
export function parseJson(text: string, source: string, line?: number): unknown {
  const at = line === undefined ? source : `${source}:${line}`;
  if (text.trim() === '') throw new Error(`${at}: empty; expected JSON`);
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message);
    const offset = position ? Number(position[1]) : undefined;
    const where = offset === undefined ? at : `${source}:${lineColumn(text, offset, line ?? 1)}`;
    // A text cut short (a killed write, a truncated copy) fails at its end, with one of several messages.
    const endsEarly = /Unexpected end of JSON input|Unterminated string/.test(message) || (offset !== undefined && offset >= text.trimEnd().length);
    throw new Error(`${where}: not valid JSON: ${endsEarly ? `it ends early (cut short?): ${message}` : message}`, { cause: error });
  }
}

/** The parsed JSON of a file: fs, UTF-8 and syntax errors all name the path. */
export function readJsonFile(path: string, what = 'file'): unknown {
  return parseJson(readTextFile(path, what), path);
}

/** readJsonFile for a file that must hold a JSON object. */
export function readJsonObject(path: string, what = 'file'): Record<string, unknown> {
  const value = readJsonFile(path, what);
  if (!isJsonObject(value)) throw new Error(`${path}: expected a JSON object (the ${what}), found ${describeValue(value)}`);
  return value;
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short description of a JSON value for error messages: `the string "2"`, `null`, `an array`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    if (value.trim() === '') return value === '' ? 'an empty string' : `only whitespace (${JSON.stringify(value.slice(0, 20))})`;
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value === 'number' ? 'the number ' : ''}${String(value)}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}
