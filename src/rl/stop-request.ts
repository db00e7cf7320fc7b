// Stopping a training run on request without losing work. The first SIGINT or SIGTERM asks the
// trainer to finish the step it is in, write a checkpoint and return; the listeners are removed
// at once, so a second signal has its default action and ends the process immediately, even in
// the middle of a long native computation (a checkpoint it cuts short is a temporary folder,
// removed when the run starts again).
//
// With several processes, every rank states at the end of each step whether it was asked to stop
// (one small all-gather), and all stop after the same step: a rank that went on alone would wait
// for the others in its next exchange. Under `intuitor train --nproc` the launcher receives the
// terminal's Ctrl-C and forwards one SIGTERM to each worker; the terminal also sends SIGINT to the
// workers themselves (they are in its process group), so workers started that way ignore SIGINT:
// one Ctrl-C is one request, not two.

import { constants } from 'node:os';
import type { Writable } from 'node:stream';
import type { DataParallel } from './data-parallel.ts';

const signalNumbers = constants.signals as Record<string, number>;

/** A run that stopped on request after writing its checkpoint; its exit code is the shell's for the signal (130, 143). */
export class StoppedOnRequest extends Error {
  readonly exitCode: number;
  constructor(message: string, signal: NodeJS.Signals) {
    super(message);
    this.exitCode = stopExitCode(signal);
  }
}

export const stopExitCode = (signal: NodeJS.Signals) => 128 + (signalNumbers[signal] ?? 0);

/** The signal of an exit code made by stopExitCode, if it is one. */
export function signalOfStopExitCode(code: number): NodeJS.Signals | undefined {
  return (['SIGINT', 'SIGTERM'] as const).find((s) => stopExitCode(s) === code);
}

export class StopRequest {
  /** the signal that asked for the stop (on another rank, possibly), once one did */
  signal: NodeJS.Signals | undefined;
  /** set by the trainer when it ended before its last step because of this request: the step of its checkpoint */
  stoppedAfterStep: number | undefined;

  request(signal: NodeJS.Signals): void {
    this.signal ??= signal;
  }
}

/**
 * Whether any rank was asked to stop; every rank calls it at the same point of each step and gets
 * the same answer, and its request learns the signal.
 */
export function agreeOnStop(parallel: DataParallel, stop: StopRequest): boolean {
  const codes = parallel.gather([stop.signal ? signalNumbers[stop.signal]! : 0]);
  const asked = codes.find((code) => code > 0);
  if (asked === undefined) return false;
  stop.request((Object.keys(signalNumbers).find((name) => signalNumbers[name] === asked) ?? 'SIGTERM') as NodeJS.Signals);
  return true;
}

/**
 * A stop request fed by this process's SIGINT and SIGTERM until `dispose()`. With `ignoreInterrupt`
 * (a worker whose launcher forwards signals), SIGINT is swallowed for as long as it listens.
 */
export function stopOnSignals(options: { log?: Writable; ignoreInterrupt?: boolean } = {}): StopRequest & { dispose(): void } {
  const stop = new StopRequest();
  const ignore = () => {};
  const listen = options.ignoreInterrupt ? (['SIGTERM'] as const) : (['SIGINT', 'SIGTERM'] as const);
  const onSignal = (signal: NodeJS.Signals) => {
    for (const s of listen) process.off(s, onSignal); // the next signal ends the process at once
    stop.request(signal);
    options.log?.write(`\n[${signal}: finishing the current step, then writing a checkpoint; ${signal === 'SIGINT' ? 'Ctrl-C' : signal} again stops at once]\n`);
  };
  for (const s of listen) process.on(s, onSignal);
  if (options.ignoreInterrupt) process.on('SIGINT', ignore);
  return Object.assign(stop, {
    dispose() {
      for (const s of listen) process.off(s, onSignal);
      process.off('SIGINT', ignore);
    },
  });
}
