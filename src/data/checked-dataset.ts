// A command's dataset, read and checked in full before any model work: rows (data/read-rows.ts),
// their fields (data/qa.ts, data/completions.ts), and their token lengths with the prompt format
// applied (data/token-budget.ts). `skipBadRows` leaves bad rows out and counts them; otherwise the
// first one stops the command with its `file:line: field: what was expected, found ...`.

import { BadRows } from './bad-rows.ts';
import { readDatasetRows } from './read-rows.ts';
import { qaItemsFromRows, type QaColumns, type QaItem } from './qa.ts';
import { promptCompletionsFromRows, type PromptCompletionText } from './completions.ts';
import { checkTokenLengths, type TokenBudget } from './token-budget.ts';

export interface DatasetReadOptions {
  skipBadRows?: boolean;
  /** read only the first rows */
  limit?: number;
  maxLineBytes?: number;
}

/** How a command turns text into the tokens it feeds, and how many it may feed. */
export interface TokenFit {
  /** the formatted prompt of a question (chat template, system prompt, instruction) */
  promptIds: (question: string) => number[];
  /** the raw tokenizer, for the cheap check of overlong texts */
  encode: (text: string) => number[];
  budget: TokenBudget;
}

export interface CheckedDataset<T> {
  items: T[];
  /** "skipped N bad rows of FILE: ..." when rows were skipped */
  skipped: string | undefined;
}

/** Question/label items whose prompts fit the model with room for the command's generation. */
export async function readQaDataset(path: string, options: DatasetReadOptions & QaColumns, fit: TokenFit): Promise<CheckedDataset<QaItem>> {
  const bad = new BadRows(options.skipBadRows);
  const rows = await readDatasetRows(path, { bad, ...(options.limit !== undefined ? { limit: options.limit } : {}), ...(options.maxLineBytes !== undefined ? { maxLineBytes: options.maxLineBytes } : {}) });
  const located = qaItemsFromRows(rows, options, path, bad);
  const fitting = checkTokenLengths(located, (item) => [{ field: item.questionField, text: item.question, ids: () => fit.promptIds(item.question) }], fit.budget, fit.encode, bad);
  if (fitting.length === 0) throw new Error(`${path} has no usable rows (${bad.summary(path)})`);
  return { items: fitting.map(({ item: { index, question, label } }) => ({ index, question, label })), skipped: bad.summary(path) };
}

/** The (prompt, completion) text pairs of a dataset file, fields checked (token lengths: fitPromptCompletions). */
export async function readPromptCompletionTexts(path: string, options: Pick<DatasetReadOptions, 'maxLineBytes'>, bad: BadRows): Promise<PromptCompletionText[]> {
  const rows = await readDatasetRows(path, { bad, ...(options.maxLineBytes !== undefined ? { maxLineBytes: options.maxLineBytes } : {}) });
  return promptCompletionsFromRows(rows, path, bad);
}

/** Token ids of (prompt, completion) pairs that fit the model's context together; the others go to `bad`. */
export function fitPromptCompletions(
  pairs: readonly PromptCompletionText[],
  fit: TokenFit & { completionIds: (completion: string) => number[] },
  source: string,
  bad: BadRows,
): { prompt: number[]; completion: number[] }[] {
  const located = pairs.map((pair, i) => ({ ...pair, where: pair.where ?? `${source} example ${i + 1}` }));
  const fitting = checkTokenLengths(
    located,
    (pair) => [
      { field: 'prompt', text: pair.prompt, ids: () => fit.promptIds(pair.prompt) },
      { field: 'completion', text: pair.completion, ids: () => fit.completionIds(pair.completion) },
    ],
    fit.budget,
    fit.encode,
    bad,
  );
  if (fitting.length === 0) throw new Error(`${source} has no usable rows (${bad.summary(source)})`);
  return fitting.map(({ ids: [prompt, completion] }) => ({ prompt: prompt!, completion: completion! }));
}
