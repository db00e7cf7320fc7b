// `intuitor train`: Intuitor (self-certainty reward) or GRPO with other rewards, on a dataset or the
// built-in arith task. Every GrpoConfig field is a flag (src/rl/config.ts); --resume RUN continues
// a run from its latest checkpoint with the configuration it was started with. --nproc/--nnodes
// split each step over processes (src/rl/launch.ts); a process started with torchrun's variables
// (RANK, WORLD_SIZE, ...) in its environment is one of them.
//
// A run is found again by its content (src/rl/run-identity.ts), and its config.json holds absolute
// paths, so `--resume RUN` works from any folder, under any spelling of RUN, after a move or copy.
// SIGINT / SIGTERM finish the current step, write a checkpoint and print the command that resumes
// (src/rl/stop-request.ts); the process then exits with 130 / 143.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { Tokenizer } from '../tokenizer/index.ts';
import type { QaItem } from '../data/qa.ts';
import { readQaDataset } from '../data/checked-dataset.ts';
import { tokenRoom } from '../data/token-budget.ts';
import { checkConfigFields, readConfigFile } from '../config/config-file.ts';
import { readJsonObject } from '../config/json-file.ts';
import { promptFit } from './prompt-fit.ts';
import { grpoFlags, grpoFlagValues, resolveGrpoConfig, type GrpoConfig } from '../rl/config.ts';
import { train, type StepMetrics } from '../rl/trainer.ts';
import { checkLaunchConfig, launchFlags, launchedWorker, launchWorkers, resumeCommand, type LaunchConfig } from '../rl/launch.ts';
import { resumeOverrides } from '../rl/run-identity.ts';
import { stopOnSignals, StoppedOnRequest } from '../rl/stop-request.ts';
import { latestCheckpoint } from '../rl/checkpoint.ts';
import { processGroupParallel } from '../rl/data-parallel.ts';
import { initProcessGroup, rendezvousFromEnv } from '../torch/distributed.ts';
import { checkFlagValues, flagName } from '../config/flags.ts';
import type { FlagSpecs } from '../config/flags.ts';

export const trainFlags = {
  ...grpoFlags,
  ...launchFlags,
  model: { ...grpoFlags.model, required: false },
  resume: { type: 'string', help: `continue the run in this folder from its latest checkpoint, with its saved config.json (${resumeOverrides.map(flagName).join(', ')} may change)` },
  config: { type: 'string', help: 'a JSON file of configuration fields (camelCase, as the flags); flags given on the command line override it' },
} as const satisfies FlagSpecs;

/** The config of a --config file's fields (checked: types, did-you-mean) and the flags given; every error names the file. */
function resolveFromConfigFile(path: string, fromFlags: Record<string, unknown>): GrpoConfig {
  try {
    return resolveGrpoConfig({ ...readConfigFile(grpoFlags, path), ...fromFlags });
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(`--config ${message.startsWith(path) ? message : `${path}: ${message}`}`, { cause: error });
  }
}

/** The fields of a run's saved config.json; a model folder's config.json is recognised and named. */
function readRunConfig(resume: string, saved: string): Record<string, unknown> {
  const json = readJsonObject(saved, "run's configuration");
  if ('model_type' in json || 'architectures' in json) {
    const type = typeof json.model_type === 'string' ? ` of a ${json.model_type} model` : '';
    throw new Error(`--resume ${resume}: this is a model folder (${saved} is the configuration${type}), not a run folder; to train it, start a run with --model ${resume}`);
  }
  return checkConfigFields(grpoFlags, grpoFlagValues(json as unknown as GrpoConfig), saved);
}

/**
 * A config whose paths are absolute, so that the run folder's config.json means the same from any
 * folder. A model that is no local folder is a hub name (ORG/NAME), kept as it is.
 */
function withAbsolutePaths(config: GrpoConfig): GrpoConfig {
  return { ...config, model: existsSync(config.model) ? resolve(config.model) : config.model, output: resolve(config.output), data: config.data === 'arith' ? config.data : resolve(config.data) };
}

/** The run's config: from the flags, or for --resume from the run folder (with the fields of resumeOverrides allowed to change). */
export function resolveTrainConfig(values: Record<string, unknown>, explicit: ReadonlySet<string> = new Set(Object.keys(values))): GrpoConfig {
  const { resume, config: configFile, ...given } = values as { resume?: string; config?: string } & Record<string, unknown>;
  const rest = Object.fromEntries(Object.entries(given).filter(([k]) => !(k in launchFlags)));
  if (configFile !== undefined && resume !== undefined) throw new Error('--config and --resume exclude each other: a resumed run keeps the configuration it was started with');
  if (configFile !== undefined) {
    // File values first; then only the flags given on the command line (not commander's defaults).
    const fromFlags = Object.fromEntries(Object.entries(rest).filter(([k]) => explicit.has(k)));
    return withAbsolutePaths(resolveFromConfigFile(configFile, fromFlags));
  }
  if (resume === undefined) return withAbsolutePaths(resolveGrpoConfig(rest));
  const saved = join(resume, 'config.json');
  if (!existsSync(saved)) throw new Error(`--resume ${resume}: no config.json there; it is not a run folder`);
  const changeable = new Set<string>(resumeOverrides);
  const fixed = Object.keys(rest).filter((k) => explicit.has(k) && !changeable.has(k));
  if (fixed.length > 0) {
    throw new Error(`--resume keeps the run's configuration: ${fixed.map(flagName).join(', ')} cannot change (only ${resumeOverrides.map(flagName).join(', ')} can); start another run with another --output instead`);
  }
  const config = readRunConfig(resume, saved);
  const overrides = Object.fromEntries(Object.entries(rest).filter(([k]) => explicit.has(k)));
  // The run folder is where it is now, whatever its config.json says it was.
  return resolveGrpoConfig({ ...config, ...overrides, output: resolve(resume) });
}

/**
 * The run's prompts, every row checked (fields, and the formatted prompt's length with room for
 * --max-completion-length) before any model work; skipped rows are reported to `log`.
 */
export async function loadTrainingItems(config: GrpoConfig, tokenizer: Tokenizer, log?: Writable): Promise<QaItem[]> {
  const fit = promptFit(tokenizer, config, config.model, config.maxCompletionLength, '--max-completion-length');
  if (config.data === 'arith') {
    tokenRoom(fit.budget); // the built-in prompts are short; a model must still leave room for them
    const { arithQaItems } = await import('../data/arith.ts');
    return arithQaItems({ split: 'train', count: 5000, seed: 0 });
  }
  const { items, skipped } = await readQaDataset(config.data, { skipBadRows: config.skipBadRows }, fit);
  if (skipped) log?.write(`[${skipped}]\n`);
  return items;
}

/** The launch flags of the command line (defaults where absent). */
export function resolveLaunchConfig(values: Record<string, unknown>): LaunchConfig {
  const launch = checkFlagValues(launchFlags, Object.fromEntries(Object.entries(values).filter(([k]) => k in launchFlags)));
  checkLaunchConfig(launch);
  return launch;
}

export async function runTrain(config: GrpoConfig, io: { stderr: Writable }, launch: LaunchConfig = resolveLaunchConfig({})): Promise<StepMetrics[]> {
  const rendezvous = rendezvousFromEnv();
  const done = () => io.stderr.write(`[done: ${config.steps} steps; checkpoints and metrics.jsonl in ${config.output}]\n`);
  // The data is checked here, before any worker starts or model loads.
  const tokenizer = await Tokenizer.fromDir(config.model);
  // Skipped rows are reported once: by this process, or by the launcher that started it.
  const reportsRows = !rendezvous || (rendezvous.rank === 0 && !launchedWorker());
  const items = await loadTrainingItems(config, tokenizer, reportsRows ? io.stderr : undefined);
  if (!rendezvous && launch.nproc * launch.nnodes > 1) {
    io.stderr.write(`[starting ${launch.nproc} worker process${launch.nproc > 1 ? 'es' : ''} on node ${launch.nodeRank} of ${launch.nnodes}; rendezvous at ${launch.masterAddr}:${launch.masterPort}]\n`);
    const { stoppedBy } = await launchWorkers(config, launch, io);
    if (stoppedBy) throw new StoppedOnRequest(`resume with: ${resumeCommand(config.output, launch)}`, stoppedBy);
    done();
    return [];
  }
  // A worker of `--nproc` leaves the terminal's SIGINT to its launcher, which forwards it as SIGTERM.
  const isMain = !rendezvous || rendezvous.rank === 0;
  const stop = stopOnSignals({ ...(isMain ? { log: io.stderr } : {}), ignoreInterrupt: launchedWorker() });
  let history: StepMetrics[];
  try {
    const describe = (where: string) =>
      io.stderr.write(`[training ${config.model} on ${config.data} (${items.length} prompts) with ${config.rewards.map((r) => `${r.weight} x ${r.name}`).join(' + ')}${where}; run folder ${config.output}]\n`);
    if (!rendezvous) {
      describe('');
      history = await train({ config, tokenizer, items, log: io.stderr as never, stop });
    } else {
      // One worker of a data-parallel run: with --device cuda each process on a machine takes its own GPU.
      const device = config.device === 'cuda' ? `cuda:${rendezvous.localRank}` : config.device;
      const group = initProcessGroup({ ...rendezvous, backend: device.startsWith('cuda') ? 'nccl' : 'gloo', timeoutMs: launch.distTimeout * 1000 });
      try {
        if (group.rank === 0) describe(` on ${group.worldSize} process${group.worldSize > 1 ? 'es' : ''} (${group.backend})`);
        history = await train({ config, tokenizer, items, log: io.stderr as never, parallel: processGroupParallel(group, device), device, stop });
      } finally {
        group.destroy();
      }
    }
  } finally {
    stop.dispose();
  }
  if (stop.stoppedAfterStep !== undefined) {
    // Rank 0 says where the run stopped; the command that resumes it comes from whoever started it.
    const where = isMain ? `[stopped by ${stop.signal} after step ${stop.stoppedAfterStep} of ${config.steps}: checkpoint written to ${latestCheckpoint(config.output)!.dir}]` : '';
    const how = isMain && !launchedWorker() ? `\nresume with: ${resumeCommand(config.output)}` : '';
    throw new StoppedOnRequest(`${where}${how}`, stop.signal!);
  }
  if (!rendezvous) done();
  return history;
}
