// Best-of-N sampling over a dataset (Kang et al. 2025): for each question, sample N responses,
// score each by the statistics generation already computed from the logits that chose its tokens
// (mean self-certainty, mean log-probability, mean entropy), extract its answer, and select one by
// the chosen rule. Each item is appended to a JSONL results file as soon as it is done; a rerun
// with the same settings skips the items already there. Item i samples with seed + i, so a resumed
// run writes what an uninterrupted one would. Each record carries a fingerprint of the dataset row
// it answers (its question and label): a dataset edited in place is refused, not silently reused.

import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { CausalLM } from '../model/causal-lm.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import { generate } from '../generate/generate.ts';
import type { SamplingOptions } from '../generate/sampling.ts';
import { answersEquivalent, extractAnswer, selectBestOfN, type SelectionRule } from '../select/index.ts';
import type { QaItem } from '../data/qa.ts';
import { Progress } from '../report/progress.ts';
import { appendResult, readResults } from './results-file.ts';
import { promptIds } from '../rl/prompt.ts';

export interface BonSettings extends Required<SamplingOptions> {
  n: number;
  maxNewTokens: number;
  seed: number;
  /** format the question with the tokenizer's chat template */
  chat: boolean;
  systemPrompt: string | undefined;
  /** appended to the question (e.g. the request to box the final answer) */
  instruction: string;
}

export interface BonResponse {
  text: string;
  answer: string | undefined;
  tokens: number;
  finishReason: 'stop' | 'length';
  selfCertainty: number;
  meanLogprob: number;
  meanEntropy: number;
}

export interface BonRecord {
  index: number;
  question: string;
  label: string | undefined;
  responses: BonResponse[];
  selected: { index: number; answer: string | undefined; method: string; p: number | undefined };
  /** whether the selected answer equals the label (when there is one) */
  correct: boolean | undefined;
  /** fingerprint of the model folder and settings the record was made with */
  settings: string;
  /** fingerprint of the dataset row it answers (rowFingerprint; absent in files of earlier versions) */
  row?: string;
  /** the model folder and the dataset, for the titles of evaluations (absent in older files) */
  model?: string;
  data?: string;
}

export function settingsFingerprint(modelDir: string, settings: BonSettings, rule: SelectionRule): string {
  return createHash('sha256').update(JSON.stringify({ modelDir, ...settings, rule })).digest('hex').slice(0, 16);
}

/** The identity of a dataset row as best-of-N uses it: its question and label. */
export function rowFingerprint(item: { question: string; label: string | undefined }): string {
  return createHash('sha256').update(JSON.stringify([item.question, item.label ?? null])).digest('hex').slice(0, 16);
}

const mean = (values: readonly number[]) => (values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length);

export interface RunBestOfNOptions {
  model: CausalLM;
  modelDir: string;
  tokenizer: Tokenizer;
  items: readonly QaItem[];
  settings: BonSettings;
  rule: SelectionRule;
  resultsPath: string;
  /** discard an existing results file and start over */
  overwrite?: boolean;
  /** the dataset's name or path, recorded with each item */
  dataName?: string;
  progress?: NodeJS.WritableStream & { isTTY?: boolean };
  /**
   * items sampled together in one generate call (default 1). Each item still draws from its own
   * generator seeded with seed + index, so batching changes only the float rounding of the padded
   * rows, not which seed an item gets; it costs memory for itemsPerCall * n sequences at once.
   */
  itemsPerCall?: number;
}

/** Runs (or resumes) best-of-N over the items; returns every record, old and new, in item order. */
export async function runBestOfN(options: RunBestOfNOptions): Promise<BonRecord[]> {
  const { model, tokenizer, items, settings, rule, resultsPath } = options;
  const fingerprint = settingsFingerprint(options.modelDir, settings, rule);
  if (options.overwrite) rmSync(resultsPath, { force: true });
  const previous = readResults<BonRecord>(resultsPath);
  const foreign = previous.find((r) => r.settings !== fingerprint);
  if (foreign) {
    throw new Error(`${resultsPath} holds results made with another model or other settings (item ${foreign.index}); write to another --output file, or pass --overwrite to start over`);
  }
  // Records of rows no longer read (a smaller --limit) are kept and left out; a row that reads differently is refused.
  const rows = new Map(items.map((item) => [item.index, item]));
  const changed = previous.find((r) => rows.has(r.index) && (r.row ?? rowFingerprint(r)) !== rowFingerprint(rows.get(r.index)!));
  if (changed) {
    const now = rows.get(changed.index)!;
    throw new Error(
      `${resultsPath} answers another version of the dataset: row ${changed.index} changed since its results were written (question ${JSON.stringify(changed.question)}, label ${JSON.stringify(changed.label ?? null)} then; ${JSON.stringify(now.question)}, ${JSON.stringify(now.label ?? null)} now); write to a new --output file, or pass --overwrite to discard those results and start over`,
    );
  }
  const done = new Map(previous.map((r) => [r.index, r]));
  const todo = items.filter((item) => !done.has(item.index));
  const eosTokenIds = [...new Set([...model.config.eosTokenIds, ...tokenizer.eosTokenIds])];
  const progress = new Progress({ label: 'best-of-n', total: items.length, unit: 'items', ...(options.progress ? { stream: options.progress as never } : {}) });
  let correct = previous.filter((r) => r.correct).length;
  let labelled = previous.filter((r) => r.correct !== undefined).length;
  progress.resume(done.size);
  const itemsPerCall = options.itemsPerCall ?? 1;
  if (!Number.isSafeInteger(itemsPerCall) || itemsPerCall < 1) throw new Error(`runBestOfN: itemsPerCall must be a positive integer, got ${itemsPerCall}`);
  const format = { chat: settings.chat, instruction: settings.instruction, system: settings.systemPrompt ?? '' };
  for (let start = 0; start < todo.length; start += itemsPerCall) {
    const chunk = todo.slice(start, start + itemsPerCall);
    const generated = await generate(model, chunk.map((item) => promptIds(tokenizer, item.question, format)), {
      maxNewTokens: settings.maxNewTokens,
      n: settings.n,
      temperature: settings.temperature,
      topP: settings.topP,
      topK: settings.topK,
      minP: settings.minP,
      promptSeeds: chunk.map((item) => settings.seed + item.index),
      eosTokenIds,
      tokenizer,
    });
    for (const [position, item] of chunk.entries()) {
      const sequences = generated.filter((s) => s.prompt === position);
      const responses: BonResponse[] = sequences.map((s) => ({
        text: s.text ?? '',
        answer: extractAnswer(s.text ?? ''),
        tokens: s.tokenIds.length,
        finishReason: s.finishReason,
        selfCertainty: mean(s.selfCertainties),
        meanLogprob: mean(s.logprobs),
        meanEntropy: mean(s.entropies),
      }));
      const selection = selectBestOfN(responses, rule);
      const isCorrect = item.label === undefined ? undefined : selection.answer !== undefined && answersEquivalent(selection.answer, item.label);
      const record: BonRecord = {
        index: item.index,
        question: item.question,
        label: item.label,
        responses,
        selected: { index: selection.index, answer: selection.answer, method: selection.method, p: selection.p },
        correct: isCorrect,
        settings: fingerprint,
        row: rowFingerprint(item),
        model: options.modelDir,
        ...(options.dataName !== undefined ? { data: options.dataName } : {}),
      };
      appendResult(resultsPath, record);
      done.set(item.index, record);
      if (isCorrect !== undefined) {
        labelled += 1;
        if (isCorrect) correct += 1;
      }
      progress.tick(1, labelled > 0 ? `accuracy ${((100 * correct) / labelled).toFixed(1)}%` : undefined);
    }
  }
  progress.finish();
  return items.map((item) => done.get(item.index)!);
}
