// What identifies a training run: its content, not the path strings it was started with. A run
// folder resumes under any spelling of its path (trailing slash, ./, absolute), after being moved
// or copied, and with the model or dataset named by another path, as long as three things are
// the same as when it started:
//
//   settings  the resolved configuration's fields that change what is computed, without the
//             paths (output, model, data) and without the fields a resume may change
//   model     the starting model folder's content: its config, tokenizer and weights files
//   data      the training prompts as loaded (question and label of every item, in order)
//
// Simplification, stated: weights files larger than 16 MiB are identified by their size and 64
// evenly spaced 64 KiB samples of their bytes, not by a hash of every byte (a 15 GB model would
// take minutes to hash at each start); any retraining changes every sample, an edit of a few
// bytes between samples would go unnoticed.

import { closeSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { join } from 'node:path';
import type { QaItem } from '../data/qa.ts';
import { flagName, type FlagSpecs } from '../config/flags.ts';
import { grpoFlags, type GrpoConfig } from './config.ts';
import { resolveModelDir } from '../model/hub-cache.ts';

/** Fields a resumed run may change (`intuitor train --resume RUN --steps 200`): the fingerprint leaves them out. */
export const resumeOverrides = ['steps', 'saveSteps', 'saveTotalLimit', 'logCompletions', 'device', 'gradientCheckpointing'] as const;

/** Fields that never enter the settings fingerprint: paths (identified by content instead), and values derived from resumeOverrides. */
const notSettings = new Set<string>([...resumeOverrides, 'output', 'model', 'data', 'warmupSteps']);

export interface RunIdentity {
  settings: string;
  model: string;
  data: string;
}

const hex16 = (hash: Hash) => hash.digest('hex').slice(0, 16);

/**
 * The configuration fields that define the run's computation, in sorted key order. A field at its
 * flag's default is left out, so a flag added in a later version (at a default that keeps the old
 * behaviour) does not make earlier runs unresumable.
 */
export function identifyingSettings(config: GrpoConfig): Record<string, unknown> {
  const atDefault = (key: string, value: unknown) => {
    const spec = (grpoFlags as FlagSpecs)[key];
    return spec !== undefined && value === (spec.default ?? (spec.type === 'boolean' ? false : undefined));
  };
  return Object.fromEntries(
    Object.entries(config)
      .filter(([key, value]) => !notSettings.has(key) && !atDefault(key, value))
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

const WHOLE_FILE_BYTES = 16 * 2 ** 20;
const SAMPLES = 64;
const SAMPLE_BYTES = 64 * 2 ** 10;
const modelFile = /\.(json|safetensors|jinja|txt)$/;

/** A model folder's content: every config, tokenizer and weights file (by name), hashed or sampled. */
export function modelFingerprint(spec: string): string {
  const hash = createHash('sha256');
  const dir = resolveModelDir(spec);
  // statSync follows links: a hub cache snapshot is all symlinks into its blobs.
  const files = readdirSync(dir).filter((name) => !name.startsWith('.') && modelFile.test(name) && statSync(join(dir, name)).isFile()).sort();
  for (const name of files) {
    const path = join(dir, name);
    const size = statSync(path).size;
    hash.update(`${name}\0${size}\0`);
    const fd = openSync(path, 'r');
    try {
      const buffer = Buffer.alloc(size <= WHOLE_FILE_BYTES ? size : SAMPLE_BYTES);
      // [offset of each piece read]: the whole file in one piece, or SAMPLES pieces from start to end.
      const offsets = size <= WHOLE_FILE_BYTES ? [0] : Array.from({ length: SAMPLES }, (_, i) => Math.floor((i * (size - SAMPLE_BYTES)) / (SAMPLES - 1)));
      for (const offset of offsets) {
        const read = readSync(fd, buffer, 0, buffer.length, offset);
        hash.update(buffer.subarray(0, read));
      }
    } finally {
      closeSync(fd);
    }
  }
  return hex16(hash);
}

/** The training prompts as the trainer sees them: question and label of each item, in order. */
export function dataFingerprint(items: readonly QaItem[]): string {
  const hash = createHash('sha256');
  for (const item of items) hash.update(`${JSON.stringify([item.question, item.label ?? null])}\n`);
  return hex16(hash);
}

export function runIdentity(config: GrpoConfig, items: readonly QaItem[]): RunIdentity {
  return {
    settings: hex16(createHash('sha256').update(JSON.stringify(identifyingSettings(config)))),
    model: modelFingerprint(config.model),
    data: dataFingerprint(items),
  };
}

/** One fingerprint of the three parts: what a checkpoint stores and compares. */
export function runFingerprint(identity: RunIdentity): string {
  return hex16(createHash('sha256').update(`${identity.settings}:${identity.model}:${identity.data}`));
}

/** A run folder's saved config.json, or undefined when it cannot be read (the message then names no fields). */
function readSavedConfig(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Why a run folder's checkpoint does not belong to this configuration, as specific as the saved
 * state allows: which part differs and, for settings, which fields (from the run's config.json).
 */
export function identityMismatch(saved: RunIdentity | undefined, current: RunIdentity, config: GrpoConfig, savedConfigPath: string): string {
  if (saved === undefined) return 'its checkpoint was made with other settings, model or data';
  const reasons: string[] = [];
  if (saved.settings !== current.settings) {
    const [then, now] = [readSavedConfig(savedConfigPath) ?? {}, config as unknown as Record<string, unknown>];
    const fields = Object.keys(grpoFlags).filter((k) => !notSettings.has(k) && JSON.stringify(then[k]) !== JSON.stringify(now[k]));
    const listed = fields.map((k) => `${flagName(k)} ${JSON.stringify(then[k] ?? null)} then, ${JSON.stringify(now[k] ?? null)} now`);
    reasons.push(listed.length > 0 ? `settings differ: ${listed.join('; ')}` : 'the settings differ');
  }
  if (saved.model !== current.model) reasons.push(`the starting model ${config.model} is not the one the run started from`);
  if (saved.data !== current.data) reasons.push(`the training data ${config.data} changed since the run started`);
  return reasons.join('; ') || 'its checkpoint was made with other settings, model or data';
}
