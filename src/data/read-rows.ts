// Reading dataset rows: JSONL (one JSON object per line; read line by line, so large files stream)
// and Parquet. Each row is a plain object of its columns.

import { createReadStream, existsSync } from 'node:fs';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';

export type Row = Record<string, unknown>;

/** Reads every row of a .jsonl (or .json array) or .parquet file. */
export async function readRows(path: string): Promise<Row[]> {
  if (!existsSync(path)) throw new Error(`dataset ${path} does not exist`);
  const extension = extname(path).toLowerCase();
  if (extension === '.jsonl' || extension === '.ndjson') return readJsonl(path);
  if (extension === '.parquet') return readParquet(path);
  throw new Error(`dataset ${path}: unsupported file type "${extension}"; expected .jsonl or .parquet`);
}

export async function readJsonl(path: string): Promise<Row[]> {
  const rows: Row[] = [];
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber += 1;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new Error(`${path}:${lineNumber}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${path}:${lineNumber}: expected a JSON object per line, found ${Array.isArray(value) ? 'an array' : typeof value}`);
    rows.push(value as Row);
  }
  return rows;
}

export async function readParquet(path: string): Promise<Row[]> {
  const { asyncBufferFromFile, parquetReadObjects } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  try {
    const file = await asyncBufferFromFile(path);
    return (await parquetReadObjects({ file, compressors })) as Row[];
  } catch (e) {
    throw new Error(`${path}: cannot read as Parquet: ${(e as Error).message}`);
  }
}
