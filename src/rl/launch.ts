// Starting a data-parallel run, with torchrun's conventions: `intuitor train --nproc N` starts N
// worker processes on this machine; with --nnodes M the same command runs on each of M machines
// (each with its --node-rank), all meeting at --master-addr:--master-port on node 0. A worker learns
// its place from the environment torchrun would set (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE,
// LOCAL_RANK), so workers started by another launcher with those variables work the same.
//
// The launcher forwards rank 0's output, prefixes the other ranks' lines, and when one worker
// fails stops the rest (SIGKILL): a run never hangs on a dead rank. Ranks on other
// machines notice through their process group, which fails within --dist-timeout.
//
// A SIGINT or SIGTERM to the launcher (Ctrl-C) is forwarded to each worker as one SIGTERM: every
// rank finishes the step, rank 0 writes a checkpoint, all exit with the stop's exit code
// (src/rl/stop-request.ts) and the launcher prints the command that resumes. Workers ignore the
// SIGINT that the terminal also sends them directly. A second signal kills the workers at once.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { FlagSpecs, FlagValues } from '../config/flags.ts';
import { grpoFlagValues, type GrpoConfig } from './config.ts';
import { shardOf } from './data-parallel.ts';
import { signalOfStopExitCode } from './stop-request.ts';

export const launchFlags = {
  nproc: { type: 'int', default: 1, min: 1, help: 'worker processes on this machine (with --device cuda, one per GPU)' },
  nnodes: { type: 'int', default: 1, min: 1, help: 'machines taking part; run the same command on each, with its --node-rank' },
  nodeRank: { type: 'int', default: 0, min: 0, help: "this machine's index among --nnodes (node 0 hosts the rendezvous)" },
  masterAddr: { type: 'string', default: '127.0.0.1', help: 'address of node 0, reachable from every machine' },
  masterPort: { type: 'int', default: 29500, min: 1, max: 65535, help: 'a free TCP port on node 0 for the rendezvous' },
  distTimeout: { type: 'number', default: 300, min: 0, exclusiveMin: true, help: 'seconds a process waits for the others (to join, or in an exchange) before it fails' },
} as const satisfies FlagSpecs;

export type LaunchConfig = FlagValues<typeof launchFlags>;

export function checkLaunchConfig(launch: LaunchConfig): void {
  if (launch.nodeRank >= launch.nnodes) throw new Error(`--node-rank ${launch.nodeRank} is out of range for --nnodes ${launch.nnodes}: use 0..${launch.nnodes - 1}`);
}

/** The environment of worker `localRank` on this node. */
export function workerEnvironment(launch: LaunchConfig, localRank: number): Record<string, string> {
  return {
    MASTER_ADDR: launch.masterAddr,
    MASTER_PORT: String(launch.masterPort),
    WORLD_SIZE: String(launch.nnodes * launch.nproc),
    RANK: String(launch.nodeRank * launch.nproc + localRank),
    LOCAL_RANK: String(localRank),
    LOCAL_WORLD_SIZE: String(launch.nproc),
  };
}

const bin = fileURLToPath(new URL('../../bin/intuitor.mjs', import.meta.url));

/** Set in the environment of the workers this launcher starts: their signals come through it. */
const LAUNCHED_WORKER = 'INTUITOR_LAUNCHED_WORKER';

/** Whether this process is a worker started by launchWorkers (rather than alone, or by another launcher). */
export const launchedWorker = () => process.env[LAUNCHED_WORKER] === '1';

/** A path as one shell word. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The command that continues the run in `output` (on this node, with this launch's processes). */
export function resumeCommand(output: string, launch?: LaunchConfig): string {
  const processes = launch && launch.nproc * launch.nnodes > 1 ? ` --nproc ${launch.nproc}` : '';
  const nodes = launch && launch.nnodes > 1 ? ` --nnodes ${launch.nnodes} --node-rank ${launch.nodeRank} --master-addr ${shellWord(launch.masterAddr)} --master-port ${launch.masterPort}` : '';
  return `intuitor train --resume ${shellWord(output)}${processes}${nodes}`;
}

/**
 * Runs this node's workers to the end, or until they stop on request (`stoppedBy`: the signal);
 * throws, after stopping the others, when one fails.
 */
export async function launchWorkers(config: GrpoConfig, launch: LaunchConfig, io: { stderr: Writable }): Promise<{ stoppedBy: NodeJS.Signals | undefined }> {
  checkLaunchConfig(launch);
  shardOf(config.promptsPerStep, 0, launch.nnodes * launch.nproc); // fails early when the step does not split
  if (launch.nproc > 1 && /^cuda:\d+$/.test(config.device)) {
    throw new Error(`--device ${config.device} would put all ${launch.nproc} processes on one GPU: use --device cuda, which gives each process its own (cuda:LOCAL_RANK)`);
  }
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-launch-'));
  const configFile = join(folder, 'config.json');
  writeFileSync(configFile, JSON.stringify(grpoFlagValues(config))); // resolves to the same config
  const workers: ChildProcess[] = [];
  let failure: string | undefined;
  let requested: NodeJS.Signals | undefined; // the signal this launcher received
  let stoppedBy: NodeJS.Signals | undefined; // a worker exited with a stop's exit code
  const stopAll = (signal: NodeJS.Signals) => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill(signal);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (requested === undefined) {
      requested = signal;
      io.stderr.write(`\n[${signal}: the workers finish their step and rank 0 writes a checkpoint; ${signal === 'SIGINT' ? 'Ctrl-C' : signal} again stops them at once]\n`);
      stopAll('SIGTERM');
      return;
    }
    failure ??= `stopped at once by a second ${signal}`;
    stopAll('SIGKILL');
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    const exits = Array.from({ length: launch.nproc }, (_, localRank) => {
      const rank = launch.nodeRank * launch.nproc + localRank;
      const child = spawn(process.execPath, [bin, 'train', '--config', configFile, '--dist-timeout', String(launch.distTimeout)], {
        env: { ...process.env, ...workerEnvironment(launch, localRank), [LAUNCHED_WORKER]: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      workers.push(child);
      forward(child, rank, io.stderr);
      return new Promise<void>((resolve) => {
        const fail = (why: string) => {
          if (failure !== undefined) return;
          failure = why;
          // SIGKILL: SIGTERM would ask for a last step, whose exchanges cannot complete without the
          // failed rank (the last complete checkpoint stays as it is).
          stopAll('SIGKILL');
        };
        child.on('error', (error) => {
          fail(`rank ${rank} could not start (${error.message})`);
          resolve();
        });
        // 'close' comes after the worker's output has been read to the end, so its last words are shown first.
        child.on('close', (code, signal) => {
          // A stop's exit code: it finished its step and stopped with the others. Killed by the
          // signal of a stop: it was still starting, before it listened for signals.
          const stop = code === null ? (requested && (signal === 'SIGTERM' || signal === 'SIGINT') ? requested : undefined) : signalOfStopExitCode(code);
          if (stop) stoppedBy ??= stop;
          else if (code !== 0) fail(`rank ${rank} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`);
          resolve();
        });
      });
    });
    await Promise.all(exits);
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    rmSync(folder, { recursive: true, force: true });
  }
  if (failure !== undefined) {
    throw new Error(`${failure}; the other workers were stopped. ${config.output} keeps its last complete checkpoint: continue with \`${resumeCommand(config.output, launch)}\` (any number of processes that divides --prompts-per-step)`);
  }
  return { stoppedBy: stoppedBy && (requested ?? stoppedBy) };
}

/** Rank 0's output as it is; the other ranks' lines prefixed with their rank. */
function forward(child: ChildProcess, rank: number, out: Writable): void {
  for (const stream of [child.stdout!, child.stderr!]) {
    if (rank === 0) {
      stream.on('data', (chunk: Buffer) => out.write(chunk));
      continue;
    }
    let pending = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop()!;
      for (const line of lines) out.write(`[rank ${rank}] ${line}\n`);
    });
    stream.on('end', () => pending && out.write(`[rank ${rank}] ${pending}\n`));
  }
}
