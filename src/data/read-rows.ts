// Reading dataset rows, the one input layer under `bon`, `train` and `sft`: JSONL (one JSON object
// per line, streamed and bounded by data/jsonl-lines.ts) and Parquet (hyparquet). Each row is a
// plain object of its columns, with where it came from (`file:line` for JSONL, `file:row N` for
// Parquet) so that every later check can name it. Text is strict UTF-8 in both formats: a Parquet
// text cell with invalid bytes reads as an InvalidText, refused where the field is used.

import { existsSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { firstInvalidUtf8 } from '../config/json-file.ts';
import { BadRows } from './bad-rows.ts';
import { DEFAULT_MAX_LINE_BYTES, jsonlLines } from './jsonl-lines.ts';
import { InvalidText } from './row-fields.ts';

export type Row = Record<string, unknown>;

export interface DatasetRow {
  row: Row;
  /** position among the file's rows (blank JSONL lines not counted), from 0; bad rows keep theirs */
  index: number;
  /** `file:line` or `file:row N`, for error messages */
  where: string;
}

export interface ReadRowsOptions {
  /** where bad rows go (default: the first one throws) */
  bad?: BadRows;
  /** read only the first rows */
  limit?: number;
  /** the largest row accepted, in bytes of JSONL line or of a Parquet row's text (default 8 MiB) */
  maxLineBytes?: number;
}

/** Every usable row of a .jsonl or .parquet file; a bad row goes to options.bad. */
export async function readDatasetRows(path: string, options: ReadRowsOptions = {}): Promise<DatasetRow[]> {
  if (!existsSync(path)) throw new Error(`dataset ${path} does not exist`);
  if (statSync(path).isDirectory()) throw new Error(`dataset ${path} is a folder; expected a .jsonl or .parquet file`);
  const extension = extname(path).toLowerCase();
  if (extension === '.jsonl' || extension === '.ndjson') return readJsonlRows(path, options);
  if (extension === '.parquet') return readParquetRows(path, options);
  throw new Error(`dataset ${path}: unsupported file type "${extension}"; expected .jsonl or .parquet`);
}

/** The rows alone; the first bad row throws. */
export async function readRows(path: string): Promise<Row[]> {
  return (await readDatasetRows(path)).map((r) => r.row);
}

async function readJsonlRows(path: string, options: ReadRowsOptions): Promise<DatasetRow[]> {
  const bad = options.bad ?? new BadRows();
  const rows: DatasetRow[] = [];
  let index = 0;
  for await (const line of jsonlLines(path, options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes })) {
    if (options.limit !== undefined && index >= options.limit) break;
    if ('error' in line) bad.add(line.error);
    else rows.push({ row: line.value, index, where: `${path}:${line.line}` });
    index += 1;
  }
  return rows;
}

async function readParquetRows(path: string, options: ReadRowsOptions): Promise<DatasetRow[]> {
  const { asyncBufferFromFile, parquetReadObjects } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const stringFromBytes = (bytes: Uint8Array | undefined) => {
    if (!bytes) return bytes;
    try {
      return decoder.decode(bytes);
    } catch {
      return new InvalidText(firstInvalidUtf8(bytes));
    }
  };
  let objects: Row[];
  try {
    const file = await asyncBufferFromFile(path);
    objects = (await parquetReadObjects({ file, compressors, parsers: { stringFromBytes } as never, ...(options.limit !== undefined ? { rowEnd: options.limit } : {}) })) as Row[];
  } catch (e) {
    throw new Error(`${path}: cannot read as Parquet: ${(e as Error).message}`);
  }
  const bad = options.bad ?? new BadRows();
  const maxBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const rows: DatasetRow[] = [];
  objects.forEach((row, index) => {
    const where = `${path}:row ${index + 1}`;
    const problem = parquetRowProblem(row, maxBytes);
    if (problem) bad.add(`${where}: ${problem}`);
    else rows.push({ row, index, where });
  });
  return rows;
}

function parquetRowProblem(row: Row, maxBytes: number): string | undefined {
  let size = 0;
  // UTF-16 length: within 3x of the UTF-8 bytes, enough to bound the work cheaply
  for (const value of Object.values(row)) if (typeof value === 'string') size += value.length;
  return size > maxBytes ? `the row holds more than ${maxBytes} characters of text; a row must be smaller` : undefined;
}
