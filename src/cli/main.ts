// The `intuitor` command: one file per subcommand; this one wires them to commander.

import { Command, CommanderError } from 'commander';
import { addFlags as addFlagsTo, type FlagSpecs } from '../config/flags.ts';
import { packageVersion } from '../package-paths.ts';
import { generateFlags, resolveGenerateConfig, runGenerate } from './generate.ts';
import { resolveServeConfig, runServe, serveFlags } from './serve.ts';
import { bonFlags, resolveBonConfig, runBon } from './bon.ts';
import { evalFlags, resolveEvalConfig, runEval } from './eval.ts';
import { trainFlags, resolveLaunchConfig, resolveTrainConfig, runTrain } from './train.ts';
import { initFlags, resolveInitConfig, runInit } from './init.ts';
import { sftFlags, resolveSftConfig, runSft } from './sft.ts';
import { demoFlags, resolveDemoConfig, runDemo } from './demo.ts';
import { reportFlags, resolveReportConfig, runReport } from './report.ts';
import { StoppedOnRequest } from '../rl/stop-request.ts';

/** One example per subcommand, shown at the end of its --help. */
const EXAMPLES: Record<string, string> = {
  generate: 'intuitor generate --model Qwen/Qwen2.5-0.5B-Instruct --chat --prompt "What is 7 * 8?" --n 4 --seed 1',
  serve: 'intuitor serve --model Qwen/Qwen2.5-0.5B-Instruct --port 8000 --dtype bfloat16',
  bon: "intuitor bon --model Qwen/Qwen2.5-0.5B-Instruct --data gsm8k-test.jsonl --n 16 --select borda --chat --output gsm8k.bon.jsonl",
  eval: 'intuitor eval --results gsm8k.bon.jsonl --rules self-certainty,borda,majority,random',
  train: 'intuitor train --model Qwen/Qwen2.5-0.5B-Instruct --data arith --chat --steps 50 --output runs/intuitor',
  init: 'intuitor init --model-config arith-tiny --tokenizer arith --seed 0 --output /tmp/tiny',
  sft: 'intuitor sft --model /tmp/tiny --data arith --levels 1 --steps 200 --chat --system "" --instruction "" --output /tmp/tiny-sft',
  demo: 'intuitor demo --runs intuitor,correctness --steps 10',
  report: 'intuitor report --run runs/intuitor',
};

export function buildProgram(io = { stdout: process.stdout, stderr: process.stderr }): Command {
  const program = new Command('intuitor')
    .description('Self-certainty best-of-N and Intuitor (RLIF) training for Hugging Face causal language models')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  const warn = (message: string) => io.stderr.write(`${message}\n`);
  const addFlags = (command: Command, specs: FlagSpecs) => addFlagsTo(command, specs, warn).addHelpText('after', `\nExample:\n  $ ${EXAMPLES[command.name()]}\n`);
  addFlags(program.command('generate').description('sample continuations of a prompt, streaming the text').exitOverride(), generateFlags).action(async (options) => {
    await runGenerate(resolveGenerateConfig(options), io);
  });
  addFlags(program.command('serve').description('serve the model over an OpenAI-compatible HTTP API (chat, completions, best_of by self-certainty)').exitOverride(), serveFlags).action(async (options) => {
    await runServe(resolveServeConfig(options), io);
  });
  addFlags(program.command('bon').description('best-of-N over a dataset, selected by self-certainty; resumable JSONL results').exitOverride(), bonFlags).action(async (options) => {
    await runBon(resolveBonConfig(options), io);
  });
  addFlags(program.command('eval').description('accuracy vs N per selection rule, and calibration, from bon results').exitOverride(), evalFlags).action(async (options) => {
    await runEval(resolveEvalConfig(options), io);
  });
  const train = addFlags(program.command('train').description('Intuitor (self-certainty reward) or GRPO training; resumable').exitOverride(), trainFlags);
  train.action(async (options) => {
    const explicit = new Set(Object.keys(options).filter((key) => train.getOptionValueSource(key) === 'cli'));
    await runTrain(resolveTrainConfig(options, explicit), io, resolveLaunchConfig(options));
  });
  addFlags(program.command('init').description('a new model with random weights (a preset or config.json, and a tokenizer)').exitOverride(), initFlags).action(async (options) => {
    await runInit(resolveInitConfig(options), io);
  });
  addFlags(program.command('sft').description('supervised fine-tuning on (prompt, completion) pairs, loss on completions only').exitOverride(), sftFlags).action(async (options) => {
    await runSft(resolveSftConfig(options), io);
  });
  addFlags(program.command('demo').description('both results on the embedded default model: self-certainty best-of-N and AUROC, then Intuitor (no labels) beside GRPO with correctness and the reward-hack ablations, with 95% bootstrap intervals').exitOverride(), demoFlags).action(async (options) => {
    await runDemo(resolveDemoConfig(options), io);
  });
  addFlags(program.command('report').description('training curves of a run folder: PNG plots and a self-contained HTML page').exitOverride(), reportFlags).action(async (options) => {
    await runReport(resolveReportConfig(options), io);
  });
  return program;
}

/** Runs the command line; returns the exit code. */
export async function main(argv: string[], io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode; // commander has printed its message
    if (error instanceof StoppedOnRequest) {
      if (error.message) io.stderr.write(`${error.message}\n`); // where it stopped and how to resume: not an error
      return error.exitCode;
    }
    io.stderr.write(`intuitor: error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
