// Starting a data-parallel run, with torchrun's conventions: `intuitor train --nproc N` starts N
// worker processes on this machine; with --nnodes M the same command runs on each of M machines
// (each with its --node-rank), all meeting at --master-addr:--master-port on node 0. A worker learns
// its place from the environment torchrun would set (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE,
// LOCAL_RANK), so workers started by another launcher with those variables work the same.
//
// The launcher forwards rank 0's output, prefixes the other ranks' lines, and when one worker
// fails stops the rest (SIGTERM, then SIGKILL): a run never hangs on a dead rank. Ranks on other
// machines notice through their process group, which fails within --dist-timeout.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { FlagSpecs, FlagValues } from '../config/flags.ts';
import { grpoFlagValues, type GrpoConfig } from './config.ts';
import { shardOf } from './data-parallel.ts';

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

/** Runs this node's workers to the end; throws, after stopping the others, when one fails. */
export async function launchWorkers(config: GrpoConfig, launch: LaunchConfig, io: { stderr: Writable }): Promise<void> {
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
  const stopAll = (signal: NodeJS.Signals) => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill(signal);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    failure ??= `stopped by ${signal}`;
    stopAll(signal);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  let escalation: NodeJS.Timeout | undefined;
  try {
    const exits = Array.from({ length: launch.nproc }, (_, localRank) => {
      const rank = launch.nodeRank * launch.nproc + localRank;
      const child = spawn(process.execPath, [bin, 'train', '--config', configFile, '--dist-timeout', String(launch.distTimeout)], {
        env: { ...process.env, ...workerEnvironment(launch, localRank) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      workers.push(child);
      forward(child, rank, io.stderr);
      return new Promise<void>((resolve) => {
        const fail = (why: string) => {
          if (failure !== undefined) return;
          failure = why;
          stopAll('SIGTERM');
          // A worker blocked inside a native exchange may not see SIGTERM promptly.
          escalation = setTimeout(() => stopAll('SIGKILL'), 10_000);
        };
        child.on('error', (error) => {
          fail(`rank ${rank} could not start (${error.message})`);
          resolve();
        });
        // 'close' comes after the worker's output has been read to the end, so its last words are shown first.
        child.on('close', (code, signal) => {
          if (code !== 0) fail(`rank ${rank} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`);
          resolve();
        });
      });
    });
    await Promise.all(exits);
  } finally {
    clearTimeout(escalation);
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    rmSync(folder, { recursive: true, force: true });
  }
  if (failure !== undefined) {
    throw new Error(`${failure}; the other workers were stopped. ${config.output} keeps its last complete checkpoint: continue with \`intuitor train --resume ${config.output} --nproc ${launch.nproc}\` (any number of processes that divides --prompts-per-step)`);
  }
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
