// A Hugging Face hub cache laid out as huggingface_hub lays it out: models--ORG--NAME/ with
// blobs/<sha>, snapshots/<commit>/FILE as relative links into the blobs, and refs/<name> holding a
// commit hash without a trailing newline.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureDir } from './cli.ts';

/** Blob names as the hub client picks them: sha256 for weights (LFS files), git's blob sha1 for the rest. */
export function blobName(file: string, bytes: Buffer): string {
  if (file.endsWith('.safetensors')) return createHash('sha256').update(bytes).digest('hex');
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/** models--<id>/ with blobs for `files` (copied from `source`), one snapshot per commit (each a folder of relative links) and refs. */
export function cacheRepo(root: string, repoId: string, snapshots: Record<string, readonly string[]>, refs: Record<string, string>, source = fixtureDir('qwen2-tiny')): string {
  const repo = join(root, `models--${repoId.replaceAll('/', '--')}`);
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  for (const [hash, files] of Object.entries(snapshots)) {
    const snapshot = join(repo, 'snapshots', hash);
    mkdirSync(snapshot, { recursive: true });
    for (const file of files) {
      const bytes = readFileSync(join(source, file));
      const blob = blobName(file, bytes);
      if (!existsSync(join(repo, 'blobs', blob))) copyFileSync(join(source, file), join(repo, 'blobs', blob));
      symlinkSync(`../../blobs/${blob}`, join(snapshot, file));
    }
  }
  for (const [name, hash] of Object.entries(refs)) {
    mkdirSync(join(repo, 'refs', name, '..'), { recursive: true });
    writeFileSync(join(repo, 'refs', name), hash); // no trailing newline, as huggingface_hub writes it
  }
  return repo;
}

