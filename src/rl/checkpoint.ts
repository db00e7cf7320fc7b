// Training checkpoints: everything needed to continue a run exactly where it stopped.
//
//   RUN/checkpoints/step-000050/model/               the policy in Hugging Face layout (+ tokenizer)
//   RUN/checkpoints/step-000050/optimizer.safetensors AdamW moments, per-parameter steps in metadata
//   RUN/checkpoints/step-000050/trainer-state.json    step, data cursor, config fingerprint
//   RUN/latest.json                                   which checkpoint is the newest complete one
//
// A checkpoint is written into a temporary folder and renamed into place, and latest.json is
// replaced atomically after that: a run killed at any moment leaves the previous checkpoint
// intact and pointed to. Older checkpoints are kept.

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.ts';
import type { CausalLM } from '../model/causal-lm.ts';
import { saveModel } from '../model/load.ts';
import { openCheckpoint, writeSafetensors } from '../model/safetensors.ts';

export interface TrainerState {
  /** optimizer steps completed */
  step: number;
  /** prompts consumed from the data order so far */
  dataCursor: number;
  /** the resolved config's fingerprint: a checkpoint resumes only the run that made it */
  configFingerprint: string;
}

export function writeJsonAtomic(path: string, value: unknown): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(temporary, path);
}

const stepName = (step: number) => `step-${String(step).padStart(6, '0')}`;

/** Writes a checkpoint of the run at state.step and points latest.json at it. */
export function saveTrainingCheckpoint(runDir: string, parts: { model: CausalLM; optimizer: torch.AdamW; state: TrainerState; tokenizerDir?: string }): string {
  const checkpoints = join(runDir, 'checkpoints');
  mkdirSync(checkpoints, { recursive: true });
  const final = join(checkpoints, stepName(parts.state.step));
  const staging = join(checkpoints, `.${stepName(parts.state.step)}.tmp-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  try {
    saveModel(parts.model, join(staging, 'model'), parts.tokenizerDir ? { tokenizerDir: parts.tokenizerDir } : {});
    const names = [...parts.model.params.keys()];
    const dict = parts.optimizer.stateDict();
    const tensors = new Map<string, torch.Tensor>();
    const steps: Record<string, number> = {};
    dict.state.forEach((s, i) => {
      if (s === null) return;
      tensors.set(`exp_avg.${names[i]}`, s.expAvg);
      tensors.set(`exp_avg_sq.${names[i]}`, s.expAvgSq);
      steps[names[i]!] = s.step;
    });
    writeSafetensors(join(staging, 'optimizer.safetensors'), tensors, { steps: JSON.stringify(steps), options: JSON.stringify(dict.options) });
    writeJsonAtomic(join(staging, 'trainer-state.json'), parts.state);
    rmSync(final, { recursive: true, force: true });
    renameSync(staging, final);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  writeJsonAtomic(join(runDir, 'latest.json'), { step: parts.state.step, checkpoint: join('checkpoints', stepName(parts.state.step)) });
  return final;
}

/** The newest complete checkpoint of a run folder, or undefined when it has none yet. */
export function latestCheckpoint(runDir: string): { dir: string; state: TrainerState } | undefined {
  const latestPath = join(runDir, 'latest.json');
  if (!existsSync(latestPath)) return undefined;
  let latest: { checkpoint?: unknown };
  try {
    latest = JSON.parse(readFileSync(latestPath, 'utf8'));
  } catch (e) {
    throw new Error(`${latestPath} is corrupt (${(e as Error).message}); the run folder was left as it is`);
  }
  if (typeof latest.checkpoint !== 'string') throw new Error(`${latestPath} names no checkpoint; the run folder was left as it is`);
  const dir = join(runDir, latest.checkpoint);
  const statePath = join(dir, 'trainer-state.json');
  if (!existsSync(statePath)) throw new Error(`checkpoint ${dir} named by ${latestPath} is missing or incomplete; the run folder was left as it is`);
  let state: TrainerState;
  try {
    state = JSON.parse(readFileSync(statePath, 'utf8'));
  } catch (e) {
    throw new Error(`${statePath} is corrupt (${(e as Error).message}); the run folder was left as it is`);
  }
  if (!Number.isInteger(state.step) || !Number.isInteger(state.dataCursor) || typeof state.configFingerprint !== 'string') {
    throw new Error(`${statePath} lacks step, dataCursor or configFingerprint; the run folder was left as it is`);
  }
  return { dir, state };
}

/** Restores the optimizer's moments and steps saved with a checkpoint (the parameters come with the model). */
export function loadOptimizerState(checkpointDir: string, model: CausalLM, optimizer: torch.AdamW): void {
  const file = openCheckpoint(join(checkpointDir, 'optimizer.safetensors'));
  try {
    const steps = JSON.parse(String(file.metadata.steps ?? '{}')) as Record<string, number>;
    const options = JSON.parse(String(file.metadata.options ?? 'null')) as torch.AdamWStateDict['options'] | null;
    if (options === null) throw new Error(`${checkpointDir}/optimizer.safetensors has no optimizer options in its metadata`);
    const names = [...model.params.keys()];
    torch.scope(() => {
      const state = names.map((name) => {
        if (steps[name] === undefined) return null;
        const where = { device: model.device };
        return { step: steps[name]!, expAvg: file.load(`exp_avg.${name}`, where), expAvgSq: file.load(`exp_avg_sq.${name}`, where) };
      });
      optimizer.loadStateDict({ options, state });
    });
  } finally {
    file.close();
  }
}
