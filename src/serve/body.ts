// Request bodies: bytes -> text -> JSON, refusing what a well-behaved client never sends. The bytes
// must be UTF-8 (RFC 8259 section 8.1; a leading BOM is dropped): invalid bytes are a 400 naming
// the offset, not silently replaced. Nesting deeper than MAX_JSON_DEPTH is a 400 found by a scan
// of the text before it is parsed, so a body of a million brackets costs one pass and no objects.

import { isUtf8 } from 'node:buffer';
import { invalidRequest } from './errors.ts';

/** Deepest nesting of objects and arrays accepted (a chat request with content parts needs 4). */
export const MAX_JSON_DEPTH = 64;

/** Raw bytes or text -> parsed JSON; nothing (or only whitespace) -> undefined; JSON values pass through. */
export function parseBody(body: unknown): unknown {
  if (body instanceof Uint8Array) body = decodeUtf8(body);
  if (typeof body !== 'string') return body;
  if (body.trim() === '') return undefined;
  const deep = tooDeepAt(body, MAX_JSON_DEPTH);
  if (deep !== -1) {
    throw invalidRequest(`The JSON body of your request is nested more than ${MAX_JSON_DEPTH} levels deep (at character ${deep}); this server accepts at most ${MAX_JSON_DEPTH}.`, null, 'json_too_deep');
  }
  try {
    return JSON.parse(body);
  } catch {
    throw invalidRequest(
      'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly. The OpenAI API expects a JSON payload.)',
      null,
      'invalid_json',
    );
  }
}

function decodeUtf8(bytes: Uint8Array): string {
  if (!isUtf8(bytes)) {
    const at = invalidUtf8At(bytes);
    throw invalidRequest(`The request body is not valid UTF-8: byte ${at} (0x${bytes[at]!.toString(16).padStart(2, '0')}) does not start or continue a UTF-8 character. JSON bodies must be UTF-8.`, null, 'invalid_encoding');
  }
  return new TextDecoder('utf-8').decode(bytes); // drops a leading BOM
}

/** Offset of the first byte that is not part of a well-formed UTF-8 sequence (Unicode Table 3-7), or -1. */
export function invalidUtf8At(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    const extra = lead >= 0xc2 && lead <= 0xdf ? 1 : lead >= 0xe0 && lead <= 0xef ? 2 : lead >= 0xf0 && lead <= 0xf4 ? 3 : 0;
    if (extra === 0) return i;
    // The second byte's range excludes overlong forms (E0, F0), surrogates (ED) and > U+10FFFF (F4).
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    const second = bytes[i + 1];
    if (second === undefined || second < low || second > high) return i;
    for (let k = 2; k <= extra; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += extra + 1;
  }
  return -1;
}

/** Index of the bracket that opens level limit + 1 (outside strings), or -1. */
function tooDeepAt(text: string, limit: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return i;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return -1;
}
