// One convention across the subcommands: --output everywhere (old spellings still work, with a
// warning), --version, an example in every --help, required flags marked, every boolean negatable,
// --device/--dtype wherever a model loads, and limits checked before any model work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command, Option } from 'commander';
import { buildProgram } from '../../src/cli/main.ts';
import { fixtureDir, runCli as run } from '../helpers/cli.ts';

const qwen = fixtureDir('qwen2-tiny');
const arithMixed = fileURLToPath(new URL('../../models/arith-mixed', import.meta.url));
const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string;

function program(): { program: Command; stderr: () => string } {
  let err = '';
  const io = { stdout: { write: () => true }, stderr: { write: (s: string) => ((err += s), true) } } as never;
  return { program: buildProgram(io), stderr: () => err };
}
const subcommand = (p: Command, name: string) => p.commands.find((c) => c.name() === name)!;
const longFlags = (c: Command) => (c.options as readonly Option[]).map((o) => o.long!);

test('--version prints the package version', async () => {
  const out = await run('--version');
  assert.equal(out.code, 0);
  assert.equal(out.stdout.trim(), version);
});

test('every subcommand: an example in --help, required flags marked, --output rather than --out', async () => {
  const { program: p } = program();
  assert.ok(p.commands.length >= 9);
  for (const command of p.commands) {
    const help = await run(command.name(), '--help');
    assert.equal(help.code, 0, command.name());
    assert.match(help.stdout, new RegExp(`Example:\\n  \\$ intuitor ${command.name()} --`), command.name());
    const required = (command.options as readonly Option[]).filter((o) => o.mandatory);
    for (const option of required) assert.match(option.description, /\(required\)$/, `${command.name()} ${option.long}`);
    assert.equal(help.stdout.match(/\(required\)/g)?.length ?? 0, required.length, command.name());
    assert.doesNotMatch(help.stdout, /--out </, `${command.name()} still shows --out`);
  }
  assert.ok(longFlags(subcommand(p, 'bon')).includes('--output'));
});

test('every boolean flag is negatable: --no-scale-rewards turns a default-on flag off', () => {
  const { program: p } = program();
  for (const command of p.commands) {
    const flags = new Set(longFlags(command));
    for (const option of command.options as readonly Option[]) {
      if (option.isBoolean() && !option.negate && option.long !== '--help') assert.ok(flags.has(`--no-${option.long!.slice(2)}`), `${command.name()} ${option.long} has no negation`);
    }
  }
  const train = subcommand(p, 'train');
  train.parseOptions(['--no-scale-rewards', '--chat']);
  assert.equal(train.opts().scaleRewards, false);
  assert.equal(train.opts().chat, true);
});

test('deprecated spellings still work and say what replaced them: bon --out, init --config', () => {
  const { program: p, stderr } = program();
  const bon = subcommand(p, 'bon');
  bon.parseOptions(['--out', 'r.jsonl']);
  assert.equal(bon.opts().output, 'r.jsonl');
  assert.match(stderr(), /--out is deprecated; use --output/);
  const init = subcommand(p, 'init');
  init.parseOptions(['--config', 'arith-tiny']);
  assert.equal(init.opts().modelConfig, 'arith-tiny');
  assert.match(stderr(), /--config is deprecated; use --model-config/);
});

test('every command that loads a model takes --device and --dtype, with one validation', async () => {
  const { program: p } = program();
  for (const name of ['generate', 'serve', 'bon', 'sft', 'demo', 'train']) {
    const flags = longFlags(subcommand(p, name));
    assert.ok(flags.includes('--device') && flags.includes('--dtype'), name);
  }
  assert.ok(longFlags(subcommand(p, 'init')).includes('--dtype'));
  const bad = await run('generate', '--model', qwen, '--prompt', 'hi', '--device', 'gpu');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--device must be cpu, cuda or cuda:N, got "gpu"/);
  const half = await run('bon', '--model', qwen, '--data', 'arith', '--dtype', 'float16');
  assert.match(half.stderr, /--dtype float16 needs --device cuda/);
  const serve = await run('serve', '--model', qwen, '--device', 'tpu');
  assert.match(serve.stderr, /--device must be cpu, cuda or cuda:N, got "tpu"/);
});

test('generate --max-new-tokens past the context is refused before any work', async () => {
  const started = performance.now();
  const tooMany = await run('generate', '--model', qwen, '--prompt', 'hello there', '--max-new-tokens', '100000');
  assert.equal(tooMany.code, 1);
  assert.match(tooMany.stderr, /--max-new-tokens 100000 leave no room for a prompt in .*qwen2-tiny's 512 positions/);
  const justOver = await run('generate', '--model', qwen, '--prompt', 'hello there', '--max-new-tokens', '511');
  assert.match(justOver.stderr, /the prompt has \d+ tokens and .* has 512 positions \(max_position_embeddings\), so at most \d+ new tokens fit/);
  assert.ok(performance.now() - started < 10_000);
});

test('generate --instruction appends a line to the prompt, as train and bon do', async () => {
  const sampled = ['--model', qwen, '--temperature', '1', '--seed', '1', '--max-new-tokens', '12'];
  const withInstruction = await run('generate', ...sampled, '--prompt', 'Say', '--instruction', 'it twice');
  const written = await run('generate', ...sampled, '--prompt', 'Say\nit twice');
  const without = await run('generate', ...sampled, '--prompt', 'Say');
  assert.equal(withInstruction.code, 0, withInstruction.stderr);
  assert.equal(withInstruction.stdout, written.stdout);
  assert.notEqual(withInstruction.stdout, without.stdout);
});

test('bon --data arith: the held-out problems of the built-in task, with their labels', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-bon-arith-'));
  try {
    const output = join(folder, 'arith.bon.jsonl');
    const args = ['bon', '--model', arithMixed, '--data', 'arith', '--levels', '1', '--limit', '3', '--n', '2', '--chat', '--instruction', '', '--max-new-tokens', '24', '--output', output];
    const out = await run(...args);
    assert.equal(out.code, 0, out.stderr);
    const records = readFileSync(output, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    assert.equal(records.length, 3);
    for (const record of records) {
      assert.match(record.question, /\d/);
      assert.match(String(record.label), /^-?\d+$/);
      assert.equal(record.responses.length, 2);
    }
    const noArith = await run('bon', '--model', arithMixed, '--data', join(folder, 'x.jsonl'), '--levels', '2');
    assert.match(noArith.stderr, /--levels chooses the built-in task's problems; it needs --data arith/);
    const badLevel = await run('bon', '--model', arithMixed, '--data', 'arith', '--levels', '1,5');
    assert.match(badLevel.stderr, /--levels must list levels 1, 2, 3, 4 separated by commas, got "1,5"/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('init --dtype bfloat16 stores the weights in bfloat16', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-init-dtype-'));
  try {
    const out = await run('init', '--model-config', 'arith-tiny', '--dtype', 'bfloat16', '--output', join(folder, 'm'));
    assert.equal(out.code, 0, out.stderr);
    const bytes = readFileSync(join(folder, 'm', 'model.safetensors'));
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as Record<string, { dtype?: string }>;
    const dtypes = new Set(Object.entries(header).filter(([k]) => k !== '__metadata__').map(([, v]) => v.dtype));
    assert.deepEqual([...dtypes], ['BF16']);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test("a run started with relative paths resumes from any folder: its saved config's paths are absolute", async () => {
  const folder = mkdtempSync(join(tmpdir(), 'intuitor-resume-anywhere-'));
  const elsewhere = mkdtempSync(join(tmpdir(), 'intuitor-elsewhere-'));
  const cwd = process.cwd();
  try {
    writeFileSync(join(folder, 'data.jsonl'), '{"question": "1+1?", "answer": "#### 2"}\n');
    process.chdir(folder);
    const first = await run('train', '--model', qwen, '--data', 'data.jsonl', '--output', 'run', '--steps', '1', '--prompts-per-step', '1', '--num-generations', '2', '--max-completion-length', '2');
    assert.equal(first.code, 0, first.stderr);
    const saved = JSON.parse(readFileSync(join(folder, 'run', 'config.json'), 'utf8'));
    assert.equal(saved.data, join(folder, 'data.jsonl'));
    assert.equal(saved.output, join(folder, 'run'));
    process.chdir(elsewhere);
    const resumed = await run('train', '--resume', join(folder, 'run'), '--steps', '2');
    assert.equal(resumed.code, 0, resumed.stderr);
    const steps = readFileSync(join(folder, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    assert.deepEqual(steps, [1, 2]);
  } finally {
    process.chdir(cwd);
    rmSync(folder, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  }
});
