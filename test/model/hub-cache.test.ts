// Models by name from the local Hugging Face hub cache: a cache laid out as huggingface_hub lays it
// out (refs/<name> holding a commit hash without a newline, snapshots/<hash>/FILE as relative links
// into blobs/<sha>), built in a temporary folder from the qwen2-tiny fixture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/torch/index.ts';
import { loadModel, saveModel } from '../../src/model/load.ts';
import { loadModelConfig } from '../../src/model/config.ts';
import { hubCacheDir, parseHubId, resolveModelDir, resolveModelSource } from '../../src/model/hub-cache.ts';
import { loadModelEngine } from '../../src/serve/engine.ts';
import { Tokenizer } from '../../src/tokenizer/index.ts';
import { fixtureDir, runCli } from '../helpers/cli.ts';
import { blobName, cacheRepo } from '../helpers/hub-cache.ts';

const fixture = fixtureDir('qwen2-tiny');
const bin = fileURLToPath(new URL('../../bin/intuitor.mjs', import.meta.url));
const modelFiles = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
const MAIN = 'a'.repeat(40);
const BRANCH = 'b'.repeat(40);
const PINNED = 'c'.repeat(40); // a snapshot no ref names: reachable only by its hash

const work = mkdtempSync(join(tmpdir(), 'intuitor-hub-'));
const hfHome = join(work, 'hf-home');
const hub = join(hfHome, 'hub');
test.after(() => rmSync(work, { recursive: true, force: true }));

const repo = cacheRepo(hub, 'test-org/qwen2-tiny', { [MAIN]: modelFiles, [BRANCH]: modelFiles, [PINNED]: modelFiles }, { main: MAIN, 'my-branch': BRANCH });
cacheRepo(hub, 'solo-tiny', { [MAIN]: modelFiles }, { main: MAIN });
// A partial download: no weights, and a tokenizer.json link whose blob is gone.
const partial = cacheRepo(hub, 'test-org/partial', { [MAIN]: modelFiles.filter((f) => f !== 'model.safetensors') }, { main: MAIN });
rmSync(join(partial, 'blobs', blobName('tokenizer.json', readFileSync(join(fixture, 'tokenizer.json')))));
mkdirSync(join(partial, '.no_exist', MAIN), { recursive: true });
writeFileSync(join(partial, '.no_exist', MAIN, 'model.safetensors.index.json'), '');

const snapshot = (hash: string) => join(repo, 'snapshots', hash);

/** Runs `fn` with process.env changed as given (undefined removes a variable), then restores it. */
async function withEnv<T>(changes: Record<string, string | undefined>, fn: () => T | Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(changes).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(changes);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

const noHubEnv = { HF_HUB_CACHE: undefined, HUGGINGFACE_HUB_CACHE: undefined, HF_HOME: undefined, XDG_CACHE_HOME: undefined };

test('the cache folder is HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else HF_HOME/hub, else XDG_CACHE_HOME or ~/.cache', () => {
  assert.equal(hubCacheDir({ HF_HUB_CACHE: '/a', HUGGINGFACE_HUB_CACHE: '/b', HF_HOME: '/c', HOME: '/h' }), '/a');
  assert.equal(hubCacheDir({ HUGGINGFACE_HUB_CACHE: '/b', HF_HOME: '/c', HOME: '/h' }), '/b');
  assert.equal(hubCacheDir({ HF_HOME: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' }), '/c/hub');
  assert.equal(hubCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' }), '/x/huggingface/hub');
  assert.equal(hubCacheDir({ HOME: '/h' }), '/h/.cache/huggingface/hub');
  assert.equal(hubCacheDir({ HF_HOME: '~/hf', HOME: '/h' }), '/h/hf/hub');
});

test('ORG/NAME resolves to the snapshot of refs/main via HF_HUB_CACHE, HF_HOME/hub and HOME/.cache', () => {
  const home = join(work, 'home');
  mkdirSync(join(home, '.cache'), { recursive: true });
  if (!existsSync(join(home, '.cache', 'huggingface'))) symlinkSync(hfHome, join(home, '.cache', 'huggingface'));
  assert.equal(resolveModelDir('test-org/qwen2-tiny', { HF_HUB_CACHE: hub }), snapshot(MAIN));
  assert.equal(resolveModelDir('test-org/qwen2-tiny', { HUGGINGFACE_HUB_CACHE: hub }), snapshot(MAIN));
  assert.equal(resolveModelDir('test-org/qwen2-tiny', { HF_HOME: hfHome }), snapshot(MAIN));
  assert.equal(resolveModelDir('test-org/qwen2-tiny', { HOME: home }), join(home, '.cache', 'huggingface', 'hub', 'models--test-org--qwen2-tiny', 'snapshots', MAIN));
  assert.throws(() => resolveModelDir('test-org/qwen2-tiny', { HOME: join(work, 'empty-home') }), /hf download test-org\/qwen2-tiny/);
});

test('@revision picks a ref by name or a snapshot by commit hash; NAME alone is models--NAME', () => {
  const env = { HF_HUB_CACHE: hub };
  assert.deepEqual(resolveModelSource('test-org/qwen2-tiny@my-branch', env), { dir: snapshot(BRANCH), repoId: 'test-org/qwen2-tiny', revision: 'my-branch' });
  assert.equal(resolveModelDir('test-org/qwen2-tiny@main', env), snapshot(MAIN));
  assert.equal(resolveModelDir(`test-org/qwen2-tiny@${PINNED}`, env), snapshot(PINNED));
  assert.equal(resolveModelDir('solo-tiny', env), join(hub, 'models--solo-tiny', 'snapshots', MAIN));
  assert.throws(() => resolveModelDir('test-org/qwen2-tiny@no-such-branch', env), (e: Error) => {
    assert.match(e.message, /no revision "no-such-branch"/);
    assert.ok(e.message.includes(join(repo, 'refs', 'no-such-branch')), e.message);
    assert.ok(e.message.includes('hf download test-org/qwen2-tiny --revision no-such-branch'), e.message);
    return true;
  });
});

test('a model loaded by name computes the same logits as the fixture folder; its tokenizer encodes the same', async () => {
  await withEnv({ ...noHubEnv, HF_HUB_CACHE: hub }, async () => {
    const byName = loadModel('test-org/qwen2-tiny');
    const byPath = loadModel(fixture);
    try {
      assert.deepEqual({ ...loadModelConfig('test-org/qwen2-tiny@my-branch'), raw: null }, { ...loadModelConfig(fixture), raw: null });
      const text = 'The answer is 42.';
      const tokens = (await Tokenizer.fromDir('test-org/qwen2-tiny')).encode(text);
      assert.deepEqual(tokens, (await Tokenizer.fromDir(fixture)).encode(text));
      torch.noGrad(() =>
        torch.scope(() => {
          const ids = torch.tensor([tokens], { dtype: 'int64' });
          const a = byName.forward(ids);
          assert.deepEqual(a.shape, [1, tokens.length, byPath.config.vocabSize]);
          assert.equal(a.sub(byPath.forward(ids)).abs().max().item(), 0);
        }),
      );
    } finally {
      byName.dispose();
      byPath.dispose();
    }
  });
});

test('saveModel copies the tokenizer files of a model given by name; the server names the engine ORG/NAME', async () => {
  await withEnv({ ...noHubEnv, HF_HUB_CACHE: hub }, async () => {
    const engine = await loadModelEngine('test-org/qwen2-tiny');
    try {
      assert.equal(engine.modelId, 'test-org/qwen2-tiny');
      const out = join(work, 'saved');
      saveModel(engine.model, out, { tokenizerDir: 'test-org/qwen2-tiny' });
      assert.deepEqual(readFileSync(join(out, 'tokenizer.json')), readFileSync(join(fixture, 'tokenizer.json')));
    } finally {
      engine.dispose();
    }
  });
});

test('a model missing from the cache fails with the cache path tried and the download command', async () => {
  const env = { HF_HUB_CACHE: hub };
  assert.throws(() => resolveModelDir('test-org/absent-model', env), (e: Error) => {
    assert.ok(e.message.includes(join(hub, 'models--test-org--absent-model')), e.message);
    assert.ok(e.message.includes('hf download test-org/absent-model\n'), e.message);
    assert.match(e.message, /HF_HUB_CACHE/);
    assert.match(e.message, /HF_HOME/);
    return true;
  });
  assert.throws(() => resolveModelDir('test-org/absent-model@v2', env), /hf download test-org\/absent-model --revision v2/);
  // Every entry point goes through the cache: the same message from each.
  await withEnv({ ...noHubEnv, HF_HUB_CACHE: hub }, async () => {
    assert.throws(() => loadModel('test-org/absent-model'), /hf download test-org\/absent-model/);
    assert.throws(() => loadModelConfig('test-org/absent-model'), /hf download test-org\/absent-model/);
    await assert.rejects(Tokenizer.fromDir('test-org/absent-model'), /hf download test-org\/absent-model/);
  });
});

test('a partial snapshot fails naming each missing file; what is there can still be read', () => {
  const env = { HF_HUB_CACHE: hub };
  assert.throws(() => resolveModelDir('test-org/partial', env), (e: Error) => {
    assert.ok(e.message.includes(join(partial, 'snapshots', MAIN)), e.message);
    assert.match(e.message, /^ {2}model\.safetensors \(or model\.safetensors\.index\.json with its shards\)$/m);
    assert.match(e.message, /^ {2}tokenizer\.json \(its link points to a blob that is missing\)$/m);
    assert.doesNotMatch(e.message, /config\.json/);
    assert.match(e.message, /hf download test-org\/partial$/m);
    return true;
  });
  // config.json alone is enough for the configuration
  assert.equal(resolveModelDir('test-org/partial', env, ['config']), join(partial, 'snapshots', MAIN));
  // A part that is missing fails, naming everything missing, so that one download fixes all of it.
  assert.throws(() => resolveModelDir('test-org/partial', env, ['weights']), /^ {2}model\.safetensors .*\n(.*\n)*.*hf download test-org\/partial$/m);
  assert.throws(() => resolveModelDir('test-org/partial', env, ['tokenizer']), /^ {2}tokenizer\.json .*$/m);
});

test('an existing folder wins over the cache, even when it is named like ORG/NAME', () => {
  const cwd = process.cwd();
  const local = join(work, 'cwd');
  mkdirSync(join(local, 'test-org', 'qwen2-tiny'), { recursive: true });
  for (const file of modelFiles) symlinkSync(join(fixture, file), join(local, 'test-org', 'qwen2-tiny', file));
  process.chdir(local);
  try {
    assert.equal(resolveModelDir('test-org/qwen2-tiny', { HF_HUB_CACHE: hub }), join(local, 'test-org', 'qwen2-tiny'));
    assert.equal(resolveModelDir('./test-org/qwen2-tiny', { HF_HUB_CACHE: hub }), join(local, 'test-org', 'qwen2-tiny'));
  } finally {
    process.chdir(cwd);
  }
});

test('a missing path that cannot be a hub id keeps the folder errors', async () => {
  for (const spec of ['./no-such-model', '../no/such', 'a/b/c', '/no/such/model', 'org/name@']) {
    assert.equal(parseHubId(spec), undefined, spec);
    assert.equal(resolveModelDir(spec, { HF_HUB_CACHE: hub }), resolve(spec));
  }
  assert.throws(() => loadModelConfig('./no-such-model'), { message: `${resolve('no-such-model')} is not a Hugging Face model folder: it has no config.json` });
  await assert.rejects(Tokenizer.fromDir('./no-such-model'), { message: `Tokenizer.fromDir: folder ${resolve('no-such-model')} does not exist` });
  assert.deepEqual(parseHubId('Qwen/Qwen2.5-0.5B-Instruct@refs/pr/1'), { repoId: 'Qwen/Qwen2.5-0.5B-Instruct', revision: 'refs/pr/1' });
  assert.deepEqual(parseHubId('gpt2'), { repoId: 'gpt2' });
  assert.equal(parseHubId('org--x/name'), undefined);
  assert.equal(parseHubId('org/name@../../etc'), undefined);
});

test('intuitor generate --model ORG/NAME reads the cache named by HF_HUB_CACHE in its environment', async () => {
  const args = ['generate', '--prompt', 'The answer is', '--max-new-tokens', '6', '--temperature', '0'];
  const expected = await runCli(...args, '--model', fixture);
  assert.equal(expected.code, 0, expected.stderr);
  // undefined values are left out of the child's environment
  const env: NodeJS.ProcessEnv = { ...process.env, ...noHubEnv, HF_HUB_CACHE: hub };
  const child = spawnSync(process.execPath, [bin, ...args, '--model', 'test-org/qwen2-tiny'], { encoding: 'utf8', env, cwd: work });
  assert.equal(child.status, 0, child.stderr);
  assert.ok(expected.stdout.trim().length > 0);
  assert.equal(child.stdout, expected.stdout);
  const missing = spawnSync(process.execPath, [bin, ...args, '--model', 'test-org/absent-model'], { encoding: 'utf8', env, cwd: work });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /hf download test-org\/absent-model/);
});
