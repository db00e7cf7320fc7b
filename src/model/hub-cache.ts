// Models by name: a model given as ORG/NAME[@revision] (or NAME[@revision]) is found in the local
// Hugging Face hub cache, laid out as huggingface_hub writes it, without any network access:
//
//   <cache>/models--ORG--NAME/refs/<revision>        a commit hash (no trailing newline)
//   <cache>/models--ORG--NAME/snapshots/<hash>/FILE  a relative link to ../../blobs/<sha>
//   <cache>/models--ORG--NAME/.no_exist/<hash>/FILE  (optional) files the hub said do not exist
//
// The cache folder is chosen as huggingface_hub chooses it: HF_HUB_CACHE, else the older
// HUGGINGFACE_HUB_CACHE, else HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub. A path that exists always wins over a name, so a local folder that
// happens to look like ORG/NAME is never shadowed by the cache.

import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/** What a caller needs from a snapshot; a name resolves only when those files are there. */
export type ModelPart = 'config' | 'weights' | 'tokenizer';
export const allModelParts: readonly ModelPart[] = ['config', 'weights', 'tokenizer'];

/** Where a model spec led: a folder, and the hub id when it came from the cache. */
export interface ModelSource {
  /** absolute path of the model folder (a cache snapshot for hub ids) */
  dir: string;
  /** ORG/NAME (or NAME) when the folder is a cache snapshot */
  repoId?: string;
  revision?: string;
}

/**
 * The folder of a model given as a path or as ORG/NAME[@revision]; see resolveModelSource.
 * `needs`: the files the caller is about to read (all of a model's by default).
 */
export function resolveModelDir(spec: string, env: NodeJS.ProcessEnv = process.env, needs: readonly ModelPart[] = allModelParts): string {
  return resolveModelSource(spec, env, needs).dir;
}

/**
 * A path that exists is that path. Otherwise a spec shaped like a hub id is looked up in the
 * cache and must be there with the files `needs` names; anything else is returned as an absolute
 * path, so that the caller's own "does not exist" error names it.
 */
export function resolveModelSource(spec: string, env: NodeJS.ProcessEnv = process.env, needs: readonly ModelPart[] = allModelParts): ModelSource {
  if (typeof spec !== 'string' || spec === '') throw new TypeError(`expected a model folder or a Hugging Face model id (ORG/NAME), got ${JSON.stringify(spec)}`);
  if (existsSync(spec)) return { dir: resolve(spec) };
  const id = parseHubId(spec);
  if (id === undefined) return { dir: resolve(spec) };
  const root = hubCacheDir(env);
  const repo = join(root, `models--${id.repoId.replaceAll('/', '--')}`);
  const download = downloadCommand(id.repoId, id.revision);
  if (!existsSync(repo)) {
    throw new Error(
      `model "${spec}": there is no folder ${resolve(spec)}, and the Hugging Face cache has no ${id.repoId} (looked for ${repo}).\n` +
        `Download it with:\n  ${download}\n${cacheHint(root)}`,
    );
  }
  const revision = id.revision ?? 'main';
  const hash = commitOf(repo, revision, spec, download, root);
  const dir = join(repo, 'snapshots', hash);
  if (!existsSync(dir)) {
    throw new Error(`model "${spec}": revision ${revision} is commit ${hash}, but its snapshot ${dir} is missing (an interrupted download?).\nFetch it with:\n  ${download}\n${cacheHint(root)}`);
  }
  checkSnapshot(dir, join(repo, '.no_exist', hash), needs, spec, download);
  return { dir, repoId: id.repoId, ...(id.revision !== undefined ? { revision: id.revision } : {}) };
}

/** The hub cache folder under `env`, as huggingface_hub computes it. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.HOME || homedir();
  const expand = (p: string) => resolve(p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p);
  const explicit = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  if (explicit) return expand(explicit);
  const hfHome = env.HF_HOME || join(env.XDG_CACHE_HOME || join(home, '.cache'), 'huggingface');
  return join(expand(hfHome), 'hub');
}

/** `hf download ...` for the repo (and revision) a spec named. */
export function downloadCommand(repoId: string, revision?: string): string {
  return `hf download ${repoId}${revision !== undefined ? ` --revision ${revision}` : ''}`;
}

// One name part as the hub allows it (letters, digits, - _ .), not starting or ending with - or .
const namePart = '[A-Za-z0-9_](?:[\\w.-]*[A-Za-z0-9_])?';
const hubIdPattern = new RegExp(`^(${namePart}(?:/${namePart})?)(?:@([^\\s@]+))?$`);

/** ORG/NAME[@revision] or NAME[@revision]; undefined for anything that can only be a path. */
export function parseHubId(spec: string): { repoId: string; revision?: string } | undefined {
  const match = hubIdPattern.exec(spec);
  if (match === null || isAbsolute(spec)) return undefined;
  const repoId = match[1]!;
  // The hub refuses "--" and ".." in names; "--" would also be ambiguous in models--ORG--NAME.
  if (repoId.includes('--') || repoId.includes('..')) return undefined;
  const revision = match[2];
  if (revision !== undefined && revision.split('/').some((s) => s === '' || s === '.' || s === '..')) return undefined;
  return { repoId, ...(revision !== undefined ? { revision } : {}) };
}

const commitHash = /^[0-9a-f]{40}$/;

/** The commit a revision names: refs/<revision>'s content, or the revision itself when it is a cached commit. */
function commitOf(repo: string, revision: string, spec: string, download: string, root: string): string {
  const ref = join(repo, 'refs', revision);
  if (existsSync(ref) && statSync(ref).isFile()) {
    const hash = readFileSync(ref, 'utf8').trim();
    if (!commitHash.test(hash)) throw new Error(`${ref}: expected a 40-character commit hash, found ${JSON.stringify(hash.slice(0, 80))}`);
    return hash;
  }
  if (commitHash.test(revision) && existsSync(join(repo, 'snapshots', revision))) return revision;
  throw new Error(
    `model "${spec}": the Hugging Face cache has ${repo} but no revision "${revision}" in it (no ${ref}${commitHash.test(revision) ? ` and no snapshots/${revision}` : ''}).\n` +
      `Download that revision with:\n  ${download}\n${cacheHint(root)}`,
  );
}

/** The files each part needs; weights are one file or an index whose shards are checked too. */
function missingFiles(dir: string, needs: readonly ModelPart[]): string[] {
  const missing: string[] = [];
  const want = (file: string) => {
    if (!existsSync(join(dir, file))) missing.push(file);
  };
  if (needs.includes('config')) want('config.json');
  if (needs.includes('tokenizer')) ['tokenizer.json', 'tokenizer_config.json'].forEach(want);
  if (needs.includes('weights')) missing.push(...missingWeights(dir));
  return missing;
}

function missingWeights(dir: string): string[] {
  if (existsSync(join(dir, 'model.safetensors'))) return [];
  const index = join(dir, 'model.safetensors.index.json');
  if (!existsSync(index)) return ['model.safetensors'];
  let shards: string[];
  try {
    shards = [...new Set(Object.values((JSON.parse(readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map))];
  } catch {
    return []; // a malformed index is reported, with its details, when the checkpoint is opened
  }
  return shards.filter((s) => typeof s === 'string' && !existsSync(join(dir, s))).sort();
}

/** Fails naming every missing file of the snapshot when one that `needs` requires is missing. */
function checkSnapshot(dir: string, noExist: string, needs: readonly ModelPart[], spec: string, download: string): void {
  if (missingFiles(dir, needs).length === 0) return;
  const described = missingFiles(dir, allModelParts).map((file) => `  ${file}${whyMissing(dir, noExist, file)}`);
  throw new Error(
    `model "${spec}": the cached snapshot ${dir} is incomplete (a partial download?); it lacks:\n${described.join('\n')}\n` +
      `Fetch the missing files with:\n  ${download}`,
  );
}

function whyMissing(dir: string, noExist: string, file: string): string {
  const path = join(dir, file);
  if (isDanglingLink(path)) return ' (its link points to a blob that is missing)';
  if (existsSync(join(noExist, file))) return ' (the hub reported that the repository has no such file)';
  if (file !== 'model.safetensors') return '';
  if (existsSync(join(dir, 'pytorch_model.bin'))) return ' (there is pytorch_model.bin, but only safetensors weights can be loaded)';
  return ' (or model.safetensors.index.json with its shards)';
}

function isDanglingLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink() && !existsSync(path);
  } catch {
    return false;
  }
}

function cacheHint(root: string): string {
  return `The Hugging Face cache used is ${root} (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub); set HF_HUB_CACHE or HF_HOME if the model is cached elsewhere.`;
}
