// `intuitor bon`: best-of-N over a dataset: sample N responses per question, score them by
// self-certainty, select one per item, and append every item to a resumable JSONL results file.

import type { Writable } from 'node:stream';
import { loadModel } from '../model/load.ts';
import { Tokenizer } from '../tokenizer/index.ts';
import { readQaDataset } from '../data/checked-dataset.ts';
import { promptFit } from './prompt-fit.ts';
import { runBestOfN, type BonRecord, type BonSettings } from '../eval/bon-run.ts';
import { SELECTION_METHODS, type SelectionMethod } from '../select/index.ts';
import { checkFlagValues, type FlagSpecs, type FlagValues } from '../config/flags.ts';
import { checkDtypeDevice, deviceFlags } from '../config/device-flags.ts';
import { heldOutArithItems, parseArithLevels } from './arith-task.ts';
import type { TokenFit } from '../data/checked-dataset.ts';
import { tokenRoom } from '../data/token-budget.ts';
import type { QaItem } from '../data/qa.ts';

export const defaultInstruction = 'Please reason step by step, and put your final answer within \\boxed{}.';

export const bonFlags = {
  model: { type: 'string', required: true, help: 'model folder in Hugging Face layout' },
  data: { type: 'string', required: true, help: "dataset: .jsonl or .parquet, GSM8K style {question, answer} or MATH style {problem, solution}; or 'arith', the built-in task's held-out problems" },
  output: { type: 'string', deprecatedAlias: 'out', help: 'results file (JSONL; default: <data name>.bon.jsonl); an existing one is resumed' },
  overwrite: { type: 'boolean', help: 'discard an existing results file (made with other settings, or for another version of the dataset) and start over' },
  n: { type: 'int', default: 16, min: 1, max: 256, help: 'responses sampled per question' },
  select: { type: 'string', default: 'borda', choices: SELECTION_METHODS, help: 'selection rule' },
  p: { type: 'number', min: 0, help: "Borda power (default: the paper's heuristic from n: 0.3 up to 16, 1.2 from 32)" },
  questionField: { type: 'string', help: 'question column (default: question, problem, prompt or input)' },
  answerField: { type: 'string', help: 'reference column (default: answer, solution, label, target or output)' },
  limit: { type: 'int', min: 1, help: 'use only the first rows of the dataset (arith: how many problems, default 200)' },
  levels: { type: 'string', default: '1,2,3,4', help: 'arith: comma-separated levels to draw from (a level named twice counts twice)' },
  chat: { type: 'boolean', help: "format questions with the model's chat template (recommended for instruct models)" },
  system: { type: 'string', help: 'system message (with --chat)' },
  instruction: { type: 'string', default: defaultInstruction, help: 'appended to each question ("" for none)' },
  temperature: { type: 'number', default: 0.7, min: 0, help: 'sampling temperature' },
  topP: { type: 'number', default: 1, min: 0, exclusiveMin: true, max: 1, help: 'nucleus sampling' },
  topK: { type: 'int', default: 0, min: 0, help: 'top-k sampling (0: off)' },
  minP: { type: 'number', default: 0, min: 0, max: 0.999, help: 'min-p sampling (0: off)' },
  maxNewTokens: { type: 'int', default: 512, min: 1, help: 'the most tokens per response' },
  seed: { type: 'int', default: 0, min: 0, help: 'item i samples with seed + i' },
  itemsPerCall: { type: 'int', default: 1, min: 1, help: 'questions sampled together (n sequences each) in one batch: faster for small models, more memory; each still samples with its own seed' },
  ...deviceFlags,
  skipBadRows: { type: 'boolean', help: 'leave out rows that cannot be used (bad JSON or UTF-8, missing or blank question, too long for the model) and count them, instead of stopping at the first' },
} as const satisfies FlagSpecs;

export type BonConfig = FlagValues<typeof bonFlags> & { output: string };

/** How many held-out problems `--data arith` uses without --limit. */
export const ARITH_BON_PROBLEMS = 200;

export function resolveBonConfig(values: Record<string, unknown>): BonConfig {
  const config = checkFlagValues(bonFlags, values);
  if (config.system !== undefined && !config.chat) throw new Error('--system needs --chat');
  if (config.p !== undefined && config.select !== 'borda') throw new Error(`--p is the Borda power; it has no meaning with --select ${config.select}`);
  checkDtypeDevice(config.dtype, config.device);
  if (config.data !== 'arith' && config.levels !== bonFlags.levels.default) throw new Error("--levels chooses the built-in task's problems; it needs --data arith");
  if (config.data === 'arith') parseArithLevels(config.levels);
  const output = config.output ?? `${config.data.replace(/\.(jsonl|ndjson|parquet)$/i, '')}.bon.jsonl`;
  return { ...config, output };
}

async function datasetItems(config: BonConfig, fit: TokenFit, io: { stderr: Writable }): Promise<QaItem[]> {
  const { items, skipped } = await readQaDataset(
    config.data,
    { skipBadRows: config.skipBadRows, ...(config.limit ? { limit: config.limit } : {}), ...(config.questionField ? { questionField: config.questionField } : {}), ...(config.answerField ? { answerField: config.answerField } : {}) },
    fit,
  );
  if (skipped) io.stderr.write(`[${skipped}]\n`);
  return items;
}

/** The built-in task's held-out problems (the test split, never trained on; the demo's for --levels 1). */
function arithItems(config: BonConfig, fit: TokenFit): QaItem[] {
  tokenRoom(fit.budget); // the built-in prompts are short; a model must still leave room for them
  return heldOutArithItems(config.limit ?? ARITH_BON_PROBLEMS, parseArithLevels(config.levels));
}

export async function runBon(config: BonConfig, io: { stderr: Writable }): Promise<BonRecord[]> {
  // Every row is read and checked, its prompt's length included, before the model loads.
  const tokenizer = await Tokenizer.fromDir(config.model);
  const format = { chat: config.chat, instruction: config.instruction, system: config.system ?? '' };
  const fit = promptFit(tokenizer, format, config.model, config.maxNewTokens, '--max-new-tokens');
  const items = config.data === 'arith' ? arithItems(config, fit) : await datasetItems(config, fit, io);
  const model = loadModel(config.model, { dtype: config.dtype, device: config.device });
  const settings: BonSettings = {
    n: config.n,
    maxNewTokens: config.maxNewTokens,
    seed: config.seed,
    temperature: config.temperature,
    topP: config.topP,
    topK: config.topK,
    minP: config.minP,
    chat: config.chat,
    systemPrompt: config.system,
    instruction: config.instruction,
  };
  try {
    const records = await runBestOfN({
      model,
      modelDir: config.model,
      tokenizer,
      items,
      settings,
      rule: { method: config.select as SelectionMethod, ...(config.p !== undefined ? { p: config.p } : {}) },
      resultsPath: config.output,
      overwrite: config.overwrite,
      dataName: config.data,
      itemsPerCall: config.itemsPerCall,
      progress: io.stderr as never,
    });
    const labelled = records.filter((r) => r.correct !== undefined);
    const accuracy = labelled.length ? ` accuracy of --select ${config.select}: ${((100 * labelled.filter((r) => r.correct).length) / labelled.length).toFixed(1)}% on ${labelled.length} labelled items;` : '';
    io.stderr.write(`[${records.length} items;${accuracy} results in ${config.output}]\n`);
    return records;
  } finally {
    model.dispose();
  }
}
