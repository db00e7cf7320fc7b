// Question/answer items from dataset rows: GSM8K style {question, answer: "... #### 42"} and MATH
// style {problem, solution: "... \boxed{42}"}, or any columns named by the caller. The label is
// the final answer extracted from the reference solution.

import { extractAnswer } from '../select/index.ts';
import type { Row } from './read-rows.ts';

export interface QaItem {
  /** row number in the dataset, from 0 */
  index: number;
  question: string;
  /** the reference final answer, when the dataset has one */
  label: string | undefined;
}

export interface QaColumns {
  /** default: the first of question, problem, prompt, input present in the first row */
  questionField?: string;
  /** default: the first of answer, solution, label, target, output present in the first row */
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

export function toQaItems(rows: readonly Row[], columns: QaColumns = {}, source = 'dataset'): QaItem[] {
  if (rows.length === 0) throw new Error(`${source} has no rows`);
  const first = rows[0]!;
  const questionField = columns.questionField ?? questionFields.find((f) => f in first);
  if (questionField === undefined) throw new Error(`${source}: no question column; looked for ${questionFields.join(', ')}. Name it with --question-field`);
  const answerField = columns.answerField ?? answerFields.find((f) => f in first);
  return rows.map((row, index) => {
    const question = row[questionField];
    if (typeof question !== 'string' || question.trim() === '') {
      throw new Error(`${source}, row ${index}: column "${questionField}" must be non-empty text, found ${JSON.stringify(question)}`);
    }
    const answer = answerField === undefined ? undefined : row[answerField];
    if (answer !== undefined && answer !== null && typeof answer !== 'string' && typeof answer !== 'number') {
      throw new Error(`${source}, row ${index}: column "${answerField}" must be text or a number, found ${JSON.stringify(answer)}`);
    }
    const label = answer === undefined || answer === null ? undefined : typeof answer === 'number' ? String(answer) : labelFromSolution(answer);
    return { index, question, label };
  });
}
