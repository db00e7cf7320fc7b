// README's commands run as written: the quick start's two commands are the package's own scripts,
// and "Use a real model" works by name against a Hugging Face cache laid out as the hub client
// lays it out (the model under that name is the qwen2-tiny fixture: nothing is downloaded).
// README's library example runs in test/package/package.test.ts, against the installed tarball.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRepo } from '../helpers/hub-cache.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(join(repo, 'README.md'), 'utf8');
const scripts = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).scripts as Record<string, string>;

/** The lines of the first ```sh block after `after` (a heading or a marker), comments removed. */
function shellBlock(after: string): string[] {
  const start = readme.indexOf(after);
  assert.ok(start >= 0, `README.md has no "${after}"`);
  const block = /```sh\n([\s\S]*?)\n```/.exec(readme.slice(start));
  assert.ok(block, `no sh block after "${after}"`);
  return block[1]!.split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter((line) => line !== '' && !line.startsWith('#'));
}

/** A README command line's arguments (double and single quotes, as a shell reads these lines). */
function shellWords(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

test("the quick start is two commands, and both install what is missing first", () => {
  assert.deepEqual(shellBlock('## Quick start'), ['npm run demo', 'npm test']);
  for (const name of ['demo', 'test']) assert.match(scripts[name]!, /^bash scripts\/setup\.sh && /, `npm run ${name}`);
  assert.match(scripts.demo!, /intuitor\.mjs demo$/);
  assert.match(readFileSync(join(repo, '.ci', 'run'), 'utf8'), /^npm test$/m, '.ci/run runs the test command README gives');
});

test('"Use a real model": its intuitor commands run by name from the hub cache', () => {
  const lines = shellBlock('<!-- real model -->');
  const commands = lines.filter((line) => line.startsWith('npx intuitor '));
  assert.ok(commands.length >= 2, lines.join('\n'));
  assert.ok(lines.some((line) => /hf download Qwen\/Qwen2\.5-0\.5B-Instruct/.test(line)), 'README says how to fetch the model');
  const work = mkdtempSync(join(tmpdir(), 'intuitor-readme-'));
  try {
    const hash = 'f'.repeat(40);
    cacheRepo(join(work, 'hub'), 'Qwen/Qwen2.5-0.5B-Instruct', { [hash]: ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'] }, { main: hash });
    for (const command of commands) {
      const args = shellWords(command).slice(2); // after `npx intuitor`
      const run = spawnSync(process.execPath, [join(repo, 'bin', 'intuitor.mjs'), ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, HF_HUB_CACHE: join(work, 'hub') }, timeout: 300_000 });
      assert.equal(run.status, 0, `${command}\n${run.stderr}`);
    }
    const results = readFileSync(join(work, 'arith.bon.jsonl'), 'utf8').trim().split('\n');
    assert.equal(results.length, 10);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
