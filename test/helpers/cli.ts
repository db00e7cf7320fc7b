// Runs the intuitor command line in-process, capturing what it prints; and the fixture folders.
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.ts';

export const fixtureDir = (name: 'qwen2-tiny' | 'llama-tiny') => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

export async function runCli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const sink = (key: 'stdout' | 'stderr') => new Writable({ write: (chunk, _encoding, done) => ((out[key] += String(chunk)), done()) });
  const code = await main(argv, { stdout: sink('stdout'), stderr: sink('stderr') } as never);
  return { code, ...out };
}
