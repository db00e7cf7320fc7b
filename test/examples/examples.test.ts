// The runnable examples in examples/ run and print what their comments promise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const run = (name: string) => spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(`../../examples/${name}`, import.meta.url))], { encoding: 'utf8', timeout: 60_000 });

test('examples/mlp.ts learns its target function', () => {
  const result = run('mlp.ts');
  assert.equal(result.status, 0, result.stderr);
  const [, loss] = /step 399 +loss (\S+)/.exec(result.stdout) ?? [];
  assert.ok(Number(loss) < 1e-2, `final loss ${loss}`);
});

test('examples/allreduce.ts: two processes sum and gather over Gloo', () => {
  const result = run('allreduce.ts');
  assert.equal(result.status, 0, result.stderr);
  for (const rank of [0, 1]) assert.match(result.stdout, new RegExp(`rank ${rank}: sum 3,3,3, gathered 0,10`));
});
