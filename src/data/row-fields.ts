// The checks of a dataset row's fields, one rule for every command: a prompt (question, problem,
// prompt...) and a completion must be present, text, and not blank (an empty or whitespace-only
// prompt gives the model nothing to answer). Each problem reads `field: expected ..., found ...`, to
// be prefixed with the row's `file:line`.

import { describeValue } from '../config/json-file.ts';
import type { Row } from './read-rows.ts';

/** A text cell that is not valid UTF-8 (Parquet; a JSONL line is refused whole): where its first bad byte is. */
export class InvalidText {
  constructor(readonly offset: number) {}
}

/** What is wrong with an invalid-UTF-8 cell, as a problem of `field`. */
export function invalidTextProblem(field: string, value: InvalidText): string {
  return `${field}: expected UTF-8 text, found invalid UTF-8 at byte ${value.offset + 1} of the value`;
}

/** The field's text, or what is wrong with it. */
export function textField(row: Row, field: string): { text: string } | { problem: string } {
  const value = row[field];
  if (value === undefined) {
    const fields = Object.keys(row);
    return { problem: `${field}: expected non-empty text, found no such field (the row has ${fields.length ? fields.join(', ') : 'no fields'})` };
  }
  if (value instanceof InvalidText) return { problem: invalidTextProblem(field, value) };
  if (typeof value !== 'string' || value.trim() === '') return { problem: `${field}: expected non-empty text, found ${describeValue(value)}` };
  return { text: value };
}
