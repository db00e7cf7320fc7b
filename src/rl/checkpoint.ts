// Training checkpoints: everything needed to continue a run exactly where it stopped.
//
//   RUN/checkpoints/step-000050/model/               the policy in Hugging Face layout (+ tokenizer)
//   RUN/checkpoints/step-000050/optimizer.safetensors AdamW moments (exp_avg.NAME, exp_avg_sq.NAME),
//                                                     per-parameter steps in metadata; with --dtype
//                                                     bfloat16/float16 also the float32 master weights
//                                                     (master.NAME) and the loss scale (float16)
//   RUN/checkpoints/step-000050/trainer-state.json    step, data cursor, config fingerprint
//   RUN/latest.json                                   which checkpoint is the newest complete one
//
// A checkpoint is written into a temporary folder and renamed into place, and latest.json is
// replaced atomically after that: a run killed at any moment leaves the previous checkpoint
// intact and pointed to. The temporary folders and files of writes that were killed (named
// `.tmp-PID` after their writer) are removed when the run starts again, unless that process still
// runs. Older checkpoints are kept, or only the newest `keep` (--save-total-limit): they are
// deleted after latest.json points at a newer complete one, never before, so the checkpoint a run
// resumed from survives until its successor is complete.
//
// The master weights are saved because the model folder holds them rounded: re-deriving them from
// it would drop every update that has not yet moved a rounded weight, and the resumed run would
// part from the unbroken one.

import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { saveModel } from '../model/load.ts';
import { openCheckpoint, writeSafetensors } from '../model/safetensors.ts';
import type { RunIdentity } from './run-identity.ts';
import { parseJson, readJsonObject } from '../config/json-file.ts';

export interface TrainerState {
  /** optimizer steps completed */
  step: number;
  /** prompts consumed from the data order so far */
  dataCursor: number;
  /** the run's fingerprint (src/rl/run-identity.ts): a checkpoint resumes only the run that made it */
  configFingerprint: string;
  /** the parts of the fingerprint, to say which one differs (absent in checkpoints of earlier versions) */
  identity?: RunIdentity;
}

/** Replaces `path` with `text` through a temporary file and a rename: readers see the old or the new file, never a part. */
export function writeFileAtomic(path: string, text: string): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

const stepName = (step: number) => `step-${String(step).padStart(6, '0')}`;
const checkpointName = /^step-(\d{6,})$/;
const temporaryName = /\.tmp-(\d+)$/;

/** Whether process `pid` exists on this machine (EPERM: it exists, owned by another user). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the temporary checkpoint folders and JSON files left by writes whose process is gone; returns what it removed. */
export function removeStaleTemporaries(runDir: string): string[] {
  const removed: string[] = [];
  for (const dir of [runDir, join(runDir, 'checkpoints')]) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const pid = temporaryName.exec(name)?.[1];
      if (pid === undefined || Number(pid) === process.pid || isRunning(Number(pid))) continue;
      rmSync(join(dir, name), { recursive: true, force: true });
      removed.push(join(dir, name));
    }
  }
  return removed;
}

/**
 * Deletes the complete checkpoints other than the newest `keep` up to the one latest.json names
 * (`latestStep`); those after it are left by a run killed before it pointed at them, and are
 * deleted too (the resumed run redoes those steps).
 */
export function pruneCheckpoints(runDir: string, latestStep: number, keep: number): string[] {
  const dir = join(runDir, 'checkpoints');
  const steps = readdirSync(dir).flatMap((name) => {
    const step = checkpointName.exec(name)?.[1];
    return step === undefined ? [] : [Number(step)];
  });
  const kept = new Set(steps.filter((step) => step <= latestStep).sort((a, b) => b - a).slice(0, keep));
  kept.add(latestStep);
  const removed = steps.filter((step) => !kept.has(step)).map((step) => join(dir, stepName(step)));
  for (const path of removed) rmSync(path, { recursive: true, force: true });
  return removed;
}

/** Writes a checkpoint of the run at state.step, points latest.json at it, then keeps only the newest `keep` checkpoints (default: all). */
export function saveTrainingCheckpoint(runDir: string, parts: { model: CausalLM; optimizer: torch.MixedPrecisionAdamW; state: TrainerState; tokenizerDir?: string; keep?: number }): string {
  const checkpoints = join(runDir, 'checkpoints');
  mkdirSync(checkpoints, { recursive: true });
  const final = join(checkpoints, stepName(parts.state.step));
  const staging = join(checkpoints, `.${stepName(parts.state.step)}.tmp-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  try {
    saveModel(parts.model, join(staging, 'model'), parts.tokenizerDir ? { tokenizerDir: parts.tokenizerDir } : {});
    const names = [...parts.model.params.keys()];
    const { adamw, masters, lossScale } = parts.optimizer.stateDict();
    const tensors = new Map<string, torch.Tensor>();
    const steps: Record<string, number> = {};
    adamw.state.forEach((s, i) => {
      if (s === null) return;
      tensors.set(`exp_avg.${names[i]}`, s.expAvg);
      tensors.set(`exp_avg_sq.${names[i]}`, s.expAvgSq);
      steps[names[i]!] = s.step;
    });
    masters.forEach((master, i) => {
      if (master !== null) tensors.set(`master.${names[i]}`, master);
    });
    const metadata = { steps: JSON.stringify(steps), options: JSON.stringify(adamw.options), ...(lossScale ? { lossScale: JSON.stringify(lossScale) } : {}) };
    writeSafetensors(join(staging, 'optimizer.safetensors'), tensors, metadata);
    writeJsonAtomic(join(staging, 'trainer-state.json'), parts.state);
    rmSync(final, { recursive: true, force: true });
    renameSync(staging, final);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  writeJsonAtomic(join(runDir, 'latest.json'), { step: parts.state.step, checkpoint: join('checkpoints', stepName(parts.state.step)) });
  if (parts.keep !== undefined) pruneCheckpoints(runDir, parts.state.step, parts.keep);
  return final;
}

/** A JSON object of a run folder; any error names the file and says the folder was left alone. */
function readRunFile(path: string, what: string): Record<string, unknown> {
  try {
    return readJsonObject(path, what);
  } catch (error) {
    throw new Error(`${path} is corrupt or unreadable: ${(error as Error).message}; the run folder was left as it is`, { cause: error });
  }
}

/** The newest complete checkpoint of a run folder, or undefined when it has none yet. */
export function latestCheckpoint(runDir: string): { dir: string; state: TrainerState } | undefined {
  const latestPath = join(runDir, 'latest.json');
  if (!existsSync(latestPath)) return undefined;
  const latest = readRunFile(latestPath, "run's pointer to its newest checkpoint") as { checkpoint?: unknown };
  if (typeof latest.checkpoint !== 'string') throw new Error(`${latestPath} names no checkpoint; the run folder was left as it is`);
  const dir = join(runDir, latest.checkpoint);
  const statePath = join(dir, 'trainer-state.json');
  if (!existsSync(statePath)) throw new Error(`checkpoint ${dir} named by ${latestPath} is missing or incomplete; the run folder was left as it is`);
  const state = readRunFile(statePath, 'trainer state') as unknown as TrainerState;
  if (!Number.isInteger(state.step) || !Number.isInteger(state.dataCursor) || typeof state.configFingerprint !== 'string') {
    throw new Error(`${statePath} lacks step, dataCursor or configFingerprint; the run folder was left as it is`);
  }
  return { dir, state };
}

/**
 * Restores the optimizer's moments, steps, master weights and loss scale saved with a checkpoint
 * (the parameters come with the model, and are then set to the rounded masters).
 */
export function loadOptimizerState(checkpointDir: string, model: CausalLM, optimizer: torch.MixedPrecisionAdamW): void {
  const path = join(checkpointDir, 'optimizer.safetensors');
  const file = openCheckpoint(path);
  try {
    const steps = parseJson(String(file.metadata.steps ?? '{}'), `${path}: metadata "steps"`) as Record<string, number>;
    const options = parseJson(String(file.metadata.options ?? 'null'), `${path}: metadata "options"`) as torch.AdamWStateDict['options'] | null;
    if (options === null) throw new Error(`${path} has no optimizer options in its metadata`);
    const lossScale = file.metadata.lossScale === undefined ? null : (parseJson(String(file.metadata.lossScale), `${path}: metadata "lossScale"`) as torch.GradScalerState);
    const names = [...model.params.keys()];
    const needsMasters = optimizer.stateDict().masters.some((m) => m !== null);
    if (needsMasters && !names.some((name) => file.has(`master.${name}`))) {
      process.emitWarning(`${path} has no float32 master weights (it was written before mixed precision kept them); they restart from the model's ${model.dtype} weights`, { code: 'INTUITOR_NO_MASTER_WEIGHTS' });
    }
    if (optimizer.scaler && lossScale === null) throw new Error(`${path} has no loss scale in its metadata, which a float16 run needs; resume it with the --dtype it was started with`);
    torch.scope(() => {
      const where = { device: model.device };
      const state = names.map((name) => {
        if (steps[name] === undefined) return null;
        return { step: steps[name]!, expAvg: file.load(`exp_avg.${name}`, where), expAvgSq: file.load(`exp_avg_sq.${name}`, where) };
      });
      const masters = names.map((name) => (file.has(`master.${name}`) ? file.load(`master.${name}`, { ...where, dtype: 'float32' }) : null));
      try {
        optimizer.loadStateDict({ adamw: { options, state }, masters, lossScale });
      } catch (error) {
        throw new Error(`${path}: ${(error as Error).message}`, { cause: error }); // e.g. the state of another model
      }
    });
  } finally {
    file.close();
  }
}
