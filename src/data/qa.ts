// Question/answer items from dataset rows: GSM8K style {question, answer: "... #### 42"} and MATH
// style {problem, solution: "... \boxed{42}"}, or any columns named by the caller. The label is
// the final answer extracted from the reference solution. Every row is checked (data/row-fields.ts);
// a bad one is reported or skipped through data/bad-rows.ts.

import { extractAnswer } from '../select/index.ts';
import { describeValue } from '../config/json-file.ts';
import { BadRows } from './bad-rows.ts';
import { InvalidText, invalidTextProblem, textField } from './row-fields.ts';
import type { DatasetRow, Row } from './read-rows.ts';

export interface QaItem {
  /** row number in the dataset, from 0 */
  index: number;
  question: string;
  /** the reference final answer, when the dataset has one */
  label: string | undefined;
}

/** An item with the `file:line` of its row, for the checks that follow (token lengths). */
export interface LocatedQaItem extends QaItem {
  where: string;
  /** the column the question came from */
  questionField: string;
}

export interface QaColumns {
  /** default: the first of question, problem, prompt, input present in the first row that has one */
  questionField?: string;
  /** default: the first of answer, solution, label, target, output present in that row */
  answerField?: string;
}

const questionFields = ['question', 'problem', 'prompt', 'input'];
const answerFields = ['answer', 'solution', 'label', 'target', 'output'];

/**
 * The label of a reference solution: "#### n" (GSM8K), else the last \boxed{} (MATH), else the
 * text itself when it is a bare answer (one short line), else whatever extractAnswer finds.
 */
export function labelFromSolution(solution: string): string | undefined {
  const gsm8k = extractAnswer(solution, { format: 'gsm8k' });
  if (gsm8k !== undefined) return gsm8k;
  const boxed = extractAnswer(solution, { format: 'boxed' });
  if (boxed !== undefined) return boxed;
  const trimmed = solution.trim();
  if (trimmed !== '' && !trimmed.includes('\n') && trimmed.length <= 64) return trimmed;
  return extractAnswer(solution);
}

/** The checked items of a dataset's rows; a bad row goes to `bad` (default: the first one throws). */
export function qaItemsFromRows(rows: readonly DatasetRow[], columns: QaColumns = {}, source = 'dataset', bad = new BadRows()): LocatedQaItem[] {
  if (rows.length === 0) throw new Error(bad.count > 0 ? `${source} has no usable rows (${bad.summary(source)})` : `${source} has no rows`);
  const first = rows.find((r) => questionFields.some((f) => f in r.row))?.row ?? rows[0]!.row;
  const questionField = columns.questionField ?? questionFields.find((f) => f in first);
  if (questionField === undefined) throw new Error(`${source}: no question column; looked for ${questionFields.join(', ')}. Name it with --question-field`);
  const answerField = columns.answerField ?? answerFields.find((f) => f in first);
  const items: LocatedQaItem[] = [];
  for (const { row, index, where } of rows) {
    const question = textField(row, questionField);
    if ('problem' in question) {
      bad.add(`${where}: ${question.problem}`);
      continue;
    }
    const answer = answerField === undefined ? undefined : row[answerField];
    if (answer instanceof InvalidText) {
      bad.add(`${where}: ${invalidTextProblem(answerField!, answer)}`);
      continue;
    }
    if (answer !== undefined && answer !== null && typeof answer !== 'string' && typeof answer !== 'number') {
      bad.add(`${where}: ${answerField}: expected text or a number, found ${describeValue(answer)}`);
      continue;
    }
    const label = answer === undefined || answer === null ? undefined : typeof answer === 'number' ? String(answer) : labelFromSolution(answer);
    items.push({ index, question: question.text, label, where, questionField });
  }
  if (items.length === 0) throw new Error(`${source} has no usable rows (${bad.summary(source)})`);
  return items;
}

/** Items of rows held in memory (row i is named `source:row i+1`); the first bad row throws. */
export function toQaItems(rows: readonly Row[], columns: QaColumns = {}, source = 'dataset'): QaItem[] {
  const located = rows.map((row, index) => ({ row, index, where: `${source}:row ${index + 1}` }));
  return qaItemsFromRows(located, columns, source).map(({ index, question, label }) => ({ index, question, label }));
}
