// A run folder's metrics.jsonl: one line per finished step, appended by rank 0. It is read as bon
// reads its results (src/eval/results-file.ts): a last line cut short by a kill is left out, so a
// resumed run repairs the file instead of failing on it.

import { join } from 'node:path';
import { readCompleteJsonLines } from '../eval/results-file.ts';
import { writeFileAtomic } from './checkpoint.ts';
import type { StepMetrics } from './trainer.ts';

/** The metrics a run folder has logged so far (a cut last line left out). */
export function readMetrics(runDir: string): StepMetrics[] {
  const path = join(runDir, 'metrics.jsonl');
  return readCompleteJsonLines<StepMetrics>(path, (line, message) => `${path}:${line}: not a metrics record (${message}); remove that line (or the file) to resume`).records;
}

/**
 * Rewrites metrics.jsonl with the steps up to `step` (the checkpoint a run resumes from): the
 * steps logged after it were lost with the process that logged them, and are redone.
 */
export function keepMetricsUpTo(runDir: string, step: number): void {
  const kept = readMetrics(runDir).filter((m) => m.step <= step);
  writeFileAtomic(join(runDir, 'metrics.jsonl'), kept.map((m) => `${JSON.stringify(m)}\n`).join(''));
}
