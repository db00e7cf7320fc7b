// OpenBLAS core type: chosen from CPU flags when unset, never overridden, and matmul stays right.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { configureBlasEnvironment, coretypeForFlags, cpuFlags } from '../../src/torch/blas-env.ts';

const child = fileURLToPath(new URL('../helpers/blas-child.ts', import.meta.url));

function runChild(coretype: string | undefined): { blasCore: string; source: string; env: string | null; maxError: number } {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  if (coretype !== undefined) env.OPENBLAS_CORETYPE = coretype;
  const out = execFileSync(process.execPath, ['--import', 'tsx', child], { env, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!);
}

test('core type from CPU flags', () => {
  const skylakeX = new Set(['fma', 'avx2', 'avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl']);
  assert.equal(coretypeForFlags(skylakeX), 'SKYLAKEX');
  assert.equal(coretypeForFlags(new Set(['fma', 'avx2', 'avx512f'])), 'HASWELL', 'partial AVX-512 (Knights Landing style) gets AVX2 kernels');
  assert.equal(coretypeForFlags(new Set(['fma', 'avx2'])), 'HASWELL');
  assert.equal(coretypeForFlags(new Set(['sse4_2', 'avx'])), undefined);
  assert.deepEqual(cpuFlags('processor\t: 0\nflags\t\t: fpu avx2 fma\nbogomips\t: 1\n'), new Set(['fpu', 'avx2', 'fma']));
  assert.deepEqual(cpuFlags(''), new Set());
});

test('a value the user set is never overridden; an unset one is chosen', () => {
  const cpuinfo = 'flags : avx2 fma\n';
  const preset: NodeJS.ProcessEnv = { OPENBLAS_CORETYPE: 'Zen', OMP_WAIT_POLICY: 'ACTIVE' };
  assert.deepEqual(configureBlasEnvironment(preset, cpuinfo), { coretype: 'Zen', source: 'user', ompWaitPolicy: 'ACTIVE' });
  assert.equal(preset.OPENBLAS_CORETYPE, 'Zen');
  assert.equal(preset.OMP_WAIT_POLICY, 'ACTIVE');
  const unset: NodeJS.ProcessEnv = {};
  assert.deepEqual(configureBlasEnvironment(unset, cpuinfo), { coretype: 'HASWELL', source: 'chosen', ompWaitPolicy: 'PASSIVE' });
  assert.equal(unset.OPENBLAS_CORETYPE, 'HASWELL');
  assert.equal(unset.OMP_WAIT_POLICY, 'PASSIVE');
  const unknownCpu: NodeJS.ProcessEnv = {};
  assert.deepEqual(configureBlasEnvironment(unknownCpu, 'flags : sse2\n'), { coretype: undefined, source: 'detected', ompWaitPolicy: 'PASSIVE' });
  assert.equal('OPENBLAS_CORETYPE' in unknownCpu, false);
});

test('with OPENBLAS_CORETYPE unset, the addon loads BLAS with the chosen core and matmul is correct', () => {
  const expected = coretypeForFlags(cpuFlags(readFileSync('/proc/cpuinfo', 'utf8')));
  const result = runChild(undefined);
  assert.equal(result.env, expected ?? null);
  assert.equal(result.source, expected === undefined ? 'detected' : 'chosen');
  if (result.blasCore !== '' && expected !== undefined) {
    assert.equal(result.blasCore.toUpperCase(), expected, 'OpenBLAS runs the kernels chosen before it loaded');
  }
  assert.ok(result.maxError < 1e-3, `matmul max abs error ${result.maxError} against float64 (K = 263)`);
});

test('a preset OPENBLAS_CORETYPE is kept and matmul is correct with it', () => {
  const result = runChild('Haswell');
  assert.equal(result.env, 'Haswell');
  assert.equal(result.source, 'user');
  if (result.blasCore !== '') assert.equal(result.blasCore, 'Haswell');
  assert.ok(result.maxError < 1e-3, `matmul max abs error ${result.maxError}`);
});
