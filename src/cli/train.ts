// `intuitor train`: Intuitor (self-certainty reward) or GRPO with other rewards, on a dataset or the
// built-in arith task. Every GrpoConfig field is a flag (src/rl/config.ts); --resume RUN continues
// a run from its latest checkpoint with the configuration it was started with. --nproc/--nnodes
// split each step over processes (src/rl/launch.ts); a process started with torchrun's variables
// (RANK, WORLD_SIZE, ...) in its environment is one of them.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { Tokenizer } from '../tokenizer/index.ts';
import { readRows } from '../data/read-rows.ts';
import { toQaItems, type QaItem } from '../data/qa.ts';
import { grpoFlags, grpoFlagValues, resolveGrpoConfig, type GrpoConfig } from '../rl/config.ts';
import { train, type StepMetrics } from '../rl/trainer.ts';
import { checkLaunchConfig, launchFlags, launchWorkers, type LaunchConfig } from '../rl/launch.ts';
import { processGroupParallel } from '../rl/data-parallel.ts';
import { initProcessGroup, rendezvousFromEnv } from '../torch/distributed.ts';
import { checkFlagValues } from '../config/flags.ts';
import type { FlagSpecs } from '../config/flags.ts';

export const trainFlags = {
  ...grpoFlags,
  ...launchFlags,
  model: { ...grpoFlags.model, required: false },
  resume: { type: 'string', help: 'continue the run in this folder from its latest checkpoint, with its saved config.json (--steps may extend it)' },
  config: { type: 'string', help: 'a JSON file of configuration fields (camelCase, as the flags); flags given on the command line override it' },
} as const satisfies FlagSpecs;

/** The fields of a --config file, checked to be an object of known fields. */
function readConfigFile(path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`--config ${path}: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`--config ${path}: expected a JSON object of configuration fields`);
  const unknown = Object.keys(value).filter((k) => !(k in grpoFlags));
  if (unknown.length > 0) throw new Error(`--config ${path}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the fields are the flags in camelCase (e.g. numGenerations)`);
  return value as Record<string, unknown>;
}

/** The run's config: from the flags, or for --resume from the run folder (with --steps allowed to change). */
export function resolveTrainConfig(values: Record<string, unknown>, explicit: ReadonlySet<string> = new Set(Object.keys(values))): GrpoConfig {
  const { resume, config: configFile, ...given } = values as { resume?: string; config?: string } & Record<string, unknown>;
  const rest = Object.fromEntries(Object.entries(given).filter(([k]) => !(k in launchFlags)));
  if (configFile !== undefined && resume !== undefined) throw new Error('--config and --resume exclude each other: a resumed run keeps the configuration it was started with');
  if (configFile !== undefined) {
    // File values first; then only the flags given on the command line (not commander's defaults).
    const fromFlags = Object.fromEntries(Object.entries(rest).filter(([k]) => explicit.has(k)));
    return resolveGrpoConfig({ ...readConfigFile(configFile), ...fromFlags });
  }
  if (resume === undefined) return resolveGrpoConfig(rest);
  const saved = join(resume, 'config.json');
  if (!existsSync(saved)) throw new Error(`--resume ${resume}: no config.json there; it is not a run folder`);
  const config = JSON.parse(readFileSync(saved, 'utf8')) as GrpoConfig;
  return resolveGrpoConfig({ ...grpoFlagValues(config), output: resume, ...(explicit.has('steps') ? { steps: rest.steps } : {}) });
}

export async function loadTrainingItems(data: string): Promise<QaItem[]> {
  if (data === 'arith') {
    const { arithQaItems } = await import('../data/arith.ts');
    return arithQaItems({ split: 'train', count: 5000, seed: 0 });
  }
  return toQaItems(await readRows(data), {}, data);
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
  if (!rendezvous && launch.nproc * launch.nnodes > 1) {
    io.stderr.write(`[starting ${launch.nproc} worker process${launch.nproc > 1 ? 'es' : ''} on node ${launch.nodeRank} of ${launch.nnodes}; rendezvous at ${launch.masterAddr}:${launch.masterPort}]\n`);
    await launchWorkers(config, launch, io);
    done();
    return [];
  }
  const tokenizer = await Tokenizer.fromDir(config.model);
  const items = await loadTrainingItems(config.data);
  const describe = (where: string) =>
    io.stderr.write(`[training ${config.model} on ${config.data} (${items.length} prompts) with ${config.rewards.map((r) => `${r.weight} x ${r.name}`).join(' + ')}${where}; run folder ${config.output}]\n`);
  if (!rendezvous) {
    describe('');
    const history = await train({ config, tokenizer, items, log: io.stderr as never });
    done();
    return history;
  }
  // One worker of a data-parallel run: with --device cuda each process on a machine takes its own GPU.
  const device = config.device === 'cuda' ? `cuda:${rendezvous.localRank}` : config.device;
  const group = initProcessGroup({ ...rendezvous, backend: device.startsWith('cuda') ? 'nccl' : 'gloo', timeoutMs: launch.distTimeout * 1000 });
  try {
    if (group.rank === 0) describe(` on ${group.worldSize} process${group.worldSize > 1 ? 'es' : ''} (${group.backend})`);
    return await train({ config, tokenizer, items, log: io.stderr as never, parallel: processGroupParallel(group, device), device });
  } finally {
    group.destroy();
  }
}
