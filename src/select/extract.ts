// Final-answer extraction from a model's response, for answer-grouped best-of-N voting (Kang et al.
// 2025, "Scalable Best-of-N Selection for Large Language Models via Self-Certainty": Borda and
// weighted votes are pooled per extracted answer).
//
// format 'auto' (the default) works in two stages.
//   1. Explicit markers: the last \boxed{...}/\fbox{...} (boxes standing side by side, joined only by
//      spaces, commas, $, \quad or "and", form one list: \boxed{1}, \boxed{2} -> "1, 2"); the last
//      GSM8K "#### 42"; the last JSON "answer" field ({"answer": ...} anywhere in the text); the
//      last "answer is ...", "final answer: ..." or "Answer: ..." at the start of a line (the math
//      span right after it, else the rest of the sentence, from which stage 2 picks the answer; a
//      lone word counts only if it is a letter, capitalised, or yes/no/true/false, so "the answer
//      is correct" is no answer). Rather than a fixed priority among markers, the one that starts
//      last wins: a response that boxes intermediate results and then states "The final answer is
//      10455" answers 10455, and one that ends with \boxed{} answers what is boxed.
//   2. No marker: a short text that is itself an expression ("\frac{10}{9}", "x = 3", "1,000.99$",
//      "28 percent") is the answer; otherwise the last math span ($...$, \(...\), \[...\]) or the
//      last plain number (1,000.5 / 1 000 / 2,74 as a decimal comma / .4 / 2/3), whichever comes
//      later. Plain-text numbers lose their separators here ("1,000.99" -> "1000.99", "2,74" ->
//      "2.74"), since only in prose is a comma read as a decimal or thousands mark.
// Other formats run one stage only: 'boxed', 'gsm8k', 'json', 'answer-is', 'math' (last math span),
// 'last-number'. With `multipleChoice`, the answer is a choice letter: from the chosen format
// ('auto': the markers above, then "option (C)" / "choice C", a text that is only a letter, and the
// last "(C)" standing alone), reduced to the uppercase letter, or undefined.

import { findBoxes, findMathSpans, type Span } from './latex-scan.ts';
import { isUnitPhrase } from './normalize.ts';

export type AnswerFormat = 'auto' | 'boxed' | 'gsm8k' | 'json' | 'answer-is' | 'math' | 'last-number';

export interface ExtractOptions {
  /** where to look (default 'auto'; see the module header for the order) */
  format?: AnswerFormat;
  /** the task is multiple choice: true (letters A-J) or the allowed letters, e.g. 'ABCD' */
  multipleChoice?: boolean | string;
}

const FORMATS: readonly AnswerFormat[] = ['auto', 'boxed', 'gsm8k', 'json', 'answer-is', 'math', 'last-number'];

/** The final answer in `text` as written there (normalise it before comparing), or undefined. */
export function extractAnswer(text: string, options: ExtractOptions = {}): string | undefined {
  if (typeof text !== 'string') throw new TypeError(`extractAnswer: text must be a string, got ${typeof text}`);
  const format = options.format ?? 'auto';
  if (!FORMATS.includes(format)) throw new RangeError(`extractAnswer: unknown format ${JSON.stringify(format)}; expected one of ${FORMATS.join(', ')}`);
  const choices = options.multipleChoice === true ? 'ABCDEFGHIJ' : options.multipleChoice || undefined;
  if (choices !== undefined) return extractChoice(text, format, choices.toUpperCase());
  const found = format === 'auto' ? lastMarker(text)?.answer ?? fromProse(text) : single(text, format);
  return found === undefined || found.trim() === '' ? undefined : found.trim();
}

function single(text: string, format: Exclude<AnswerFormat, 'auto'>): string | undefined {
  switch (format) {
    case 'boxed':
      return boxedMarker(text)?.answer;
    case 'gsm8k':
      return gsm8kMarker(text)?.answer;
    case 'json':
      return jsonMarker(text)?.answer;
    case 'answer-is':
      return answerIsMarker(text)?.answer;
    case 'math': {
      const spans = findMathSpans(text).filter((s) => s.content.trim() !== '');
      return spans[spans.length - 1]?.content;
    }
    case 'last-number':
      return lastNumber(text)?.answer;
  }
}

interface Marker {
  answer: string;
  start: number;
}

function lastMarker(text: string): Marker | undefined {
  const markers = [boxedMarker(text), gsm8kMarker(text), jsonMarker(text), answerIsMarker(text)].filter((m): m is Marker => m !== undefined);
  return markers.sort((a, b) => b.start - a.start)[0];
}

const BOX_GAP = /^(?:\s|\$|,|;|&|\\\\|\\quad|\\qquad|\\[,;: ]|\\\(|\\\)|\\\[|\\\]|\\text\s*\{\s*(?:and|or|,)?\s*\}|\band\b|\bor\b)*$/;

function boxedMarker(text: string): Marker | undefined {
  const boxes = findBoxes(text);
  if (boxes.length === 0) return undefined;
  let first = boxes.length - 1;
  while (first > 0 && BOX_GAP.test(text.slice(boxes[first - 1]!.end, boxes[first]!.start))) first--;
  const contents = [...new Set(boxes.slice(first).map((b) => b.content.trim()))];
  return { answer: contents.join(', '), start: boxes[first]!.start };
}

function gsm8kMarker(text: string): Marker | undefined {
  const matches = [...text.matchAll(/####[ \t]*([^\n]*)/g)].filter((m) => m[1]!.trim() !== '');
  const m = matches[matches.length - 1];
  if (!m) return undefined;
  // The line after ####; a number that starts it is the answer ("#### 72 clips" -> "72").
  const line = m[1]!.trim().replace(/[.\s]+$/, '');
  const number = /^\\?\$?\s*(-?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:\/\d+)?)(?![\w.])/.exec(line);
  return { answer: (number && plainNumber(number[1]!)) ?? line, start: m.index };
}

function jsonMarker(text: string): Marker | undefined {
  const pattern = /(["'])answer\1\s*:\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|-?\.?\d[\d.,eE+-]*|true|false)/g;
  let found: Marker | undefined;
  for (const m of text.matchAll(pattern)) {
    if (text.lastIndexOf('{', m.index) === -1) continue;
    const raw = m[2]!;
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = String(JSON.parse(raw));
      } catch {
        value = raw.slice(1, -1);
      }
    } else if (raw.startsWith("'")) value = raw.slice(1, -1).replace(/\\(.)/g, '$1');
    if (value.trim() !== '') found = { answer: value, start: m.index };
  }
  return found;
}

const ANSWER_IS = new RegExp(
  [
    /\b(?:final\s+)?answer\s*(?:\*\*)?\s*is(?![\w'’])\s*:?(?:\*\*)?[ \t]*/.source, // "answer is" anywhere
    /(?:^|(?<=\n))[ \t>#*_]*answer\s*(?:\*\*)?\s*:(?:\*\*)?[ \t]*/.source, // "Answer:" starting a line
    /\bfinal\s+answer\s*(?:\*\*)?\s*:(?:\*\*)?[ \t]*/.source, // "final answer:" anywhere
  ].join('|'),
  'gi',
);
const STOP_WORDS = /^(?:correct|incorrect|wrong|right|not|that|this|as|below|above|follows|following|simple|clear|obvious|therefore|then)$/i;

function answerIsMarker(text: string): Marker | undefined {
  let found: Marker | undefined;
  for (const m of text.matchAll(ANSWER_IS)) {
    const answer = answerAfter(text.slice(m.index + m[0].length));
    if (answer !== undefined) found = { answer, start: m.index };
  }
  return found;
}

/** What follows "answer is": the math span there, or the answer within the rest of the sentence. */
function answerAfter(rest: string): string | undefined {
  const head = rest.replace(/^[*_"\s]+/, '');
  if (/^\\(?:boxed|fbox)\b/.test(head)) return undefined; // the box itself is the marker
  const span = findMathSpans(head)[0];
  if (span && span.start === 0) return /\\(?:boxed|fbox)\b/.test(span.content) ? undefined : span.content;
  const sentence = /^([^\n]*?)(?:\.(?=\s|$)|\n|$)/.exec(head)![1]!.slice(0, 200).trim();
  if (sentence === '') return undefined;
  if (/^[A-Za-z]+$/.test(sentence)) {
    // One word: a letter, a capitalised word (a name), or yes / no / true / false.
    const word = /^[A-Z]/.test(sentence) || /^(?:[a-z]|yes|no|true|false)$/i.test(sentence);
    return word && !STOP_WORDS.test(sentence) ? sentence : undefined;
  }
  return fromProse(sentence);
}

/** Stage 2: a bare expression, else the last math span or plain number, whichever is later. */
function fromProse(text: string): string | undefined {
  const trimmed = text.trim();
  const spans = findMathSpans(text).filter((s) => s.content.trim() !== '');
  if (isBareExpression(trimmed)) {
    // A lone currency sign ("$1,000.99") is prose; a number inside $...$ is LaTeX ("$-2,1$" is a list).
    return (spans.length === 0 ? plainNumber(trimmed.replace(/\\?\$|€|£|¥/g, '').trim()) : undefined) ?? trimmed;
  }
  const span = spans[spans.length - 1];
  const number = lastNumber(text, spans);
  if (span && (!number || span.end > number.start)) return span.content;
  return number?.answer;
}

/** Short, one line, and no words other than units, "and" / "or" and LaTeX commands. */
function isBareExpression(text: string): boolean {
  if (text === '' || text.length > 80 || text.includes('\n')) return false;
  const words = text.replace(/\\[a-zA-Z]+/g, ' ').match(/[a-zA-Z]{2,}/g) ?? [];
  return words.every((w) => isUnitPhrase(w) || /^(?:and|or)$/i.test(w));
}

const NUMBER =
  /(?<![\w.])-?(?:[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?(?![\d,])|[1-9]\d{0,2}(?: \d{3})+(?:\.\d+)?(?!\d)|\d+,\d+(?![\d,])|\d+(?:\.\d+)?|\.\d+)(?:\/\d+(?:\.\d+)?)?/g;

/** The last number written in prose (outside `skip` spans), separators resolved. */
function lastNumber(text: string, skip: readonly Span[] = []): { answer: string; start: number } | undefined {
  let found: { answer: string; start: number } | undefined;
  for (const m of text.matchAll(NUMBER)) {
    if (skip.some((s) => m.index >= s.start && m.index < s.end)) continue;
    found = { answer: plainNumber(m[0])!, start: m.index };
  }
  return found;
}

/** A plain-text number (or a/b) with its separators resolved; undefined when `s` is not one. */
export function plainNumber(s: string): string | undefined {
  const t = s.trim();
  const m = /^(-?)(\d[\d, ]*(?:\.\d+)?|\.\d+)(?:\/(\d+(?:\.\d+)?))?$/.exec(t);
  if (!m) return undefined;
  let body = m[2]!;
  if (/^[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$/.test(body) || /^[1-9]\d{0,2}(?: \d{3})+(?:\.\d+)?$/.test(body)) body = body.replace(/[, ]/g, '');
  else if (/^\d+,\d+$/.test(body)) body = body.replace(',', '.');
  else if (/[, ]/.test(body)) return undefined;
  if (body.startsWith('.')) body = `0${body}`;
  return `${m[1]}${body}${m[3] === undefined ? '' : `/${m[3]}`}`;
}

// ---------------------------------------------------------------------------------------------
// Multiple choice

function extractChoice(text: string, format: AnswerFormat, letters: string): string | undefined {
  const toLetter = (s: string | undefined) => (s === undefined ? undefined : choiceLetter(s, letters));
  if (format !== 'auto') return toLetter(single(text, format));
  const marker = toLetter(lastMarker(text)?.answer);
  if (marker) return marker;
  const option = [...text.matchAll(/\b(?:option|choice)\s*\(?([A-Za-z])\)?(?![a-zA-Z])/gi)].pop();
  if (option && letters.includes(option[1]!.toUpperCase())) return option[1]!.toUpperCase();
  const whole = toLetter(text);
  if (whole) return whole;
  const standalone = [...text.matchAll(/(?<![\w(])\(([A-Z])\)(?![\w)])/g)].filter((m) => letters.includes(m[1]!));
  return standalone.pop()?.[1];
}

/** "C", "(C)", "\text{(C)}", "**C.**", "(C) 42 apples", "C) 42" -> "C"; undefined otherwise. */
function choiceLetter(s: string, letters: string): string | undefined {
  const t = s
    .replace(/\\(?:text|textbf|mathrm|mathbf)\s*\{([^{}]*)\}/g, '$1')
    .replace(/[$*_]|\\\(|\\\)/g, '')
    .trim();
  const m = /^\(?([A-Za-z])\)?[.:]?$/.exec(t) ?? /^\(?([A-Z])\)\s+\S/.exec(t) ?? /^([A-Z])[.:]\s+\S/.exec(t);
  if (!m) return undefined;
  const letter = m[1]!;
  const upper = letter.toUpperCase();
  // A lone lowercase letter is accepted only in parentheses: "a" alone is more likely a word.
  if (letter !== upper && !t.startsWith('(')) return undefined;
  return letters.includes(upper) ? upper : undefined;
}
