// Finds a sans-serif TrueType/OpenType font for rasterising charts. resvg does not find system
// fonts reliably, so the plotter passes explicit files: this searches a few standard folders for a
// preferred family (DejaVu Sans first), adds its bold face when beside it, and reads the family
// name from the font's `name` table so the SVG's generic `sans-serif` can be mapped onto it.

import { readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

export interface FontChoice {
  /** the regular face first, then its bold face when one was found beside it */
  files: string[];
  /** the family name from the first file's name table (or derived from its file name) */
  family: string;
}

/** Where fonts usually are on Linux, macOS and Windows; searched recursively (a few levels deep). */
export const DEFAULT_FONT_DIRS: readonly string[] = [
  '/usr/share/fonts',
  '/usr/local/share/fonts',
  path.join(homedir(), '.local/share/fonts'),
  path.join(homedir(), '.fonts'),
  '/Library/Fonts',
  '/System/Library/Fonts',
  'C:\\Windows\\Fonts',
];

/** Regular faces of common sans-serif families, most preferred first. */
const PREFERRED = [
  'DejaVuSans.ttf',
  'LiberationSans-Regular.ttf',
  'Arial.ttf',
  'arial.ttf',
  'NotoSans-Regular.ttf',
  'FreeSans.ttf',
  'OpenSans-Regular.ttf',
  'Roboto-Regular.ttf',
];
const MAX_DEPTH = 4;
const MAX_ENTRIES = 20_000;
const cache = new Map<string, FontChoice | undefined>();

/** The best font under `dirs`, or undefined when there is none. Cached per list of folders. */
export function findFont(dirs: readonly string[] = DEFAULT_FONT_DIRS): FontChoice | undefined {
  const key = dirs.join('\0');
  if (!cache.has(key)) cache.set(key, searchFont(dirs));
  return cache.get(key);
}

function searchFont(dirs: readonly string[]): FontChoice | undefined {
  const byName = new Map<string, string>(); // file name -> first path found with it
  let budget = MAX_ENTRIES;
  const walk = (dir: string, depth: number): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // missing or unreadable: not an error, just no fonts there
    }
    for (const entry of entries) {
      if (--budget < 0) return;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && depth < MAX_DEPTH) walk(full, depth + 1);
      else if ((entry.isFile() || entry.isSymbolicLink()) && /\.(ttf|otf)$/i.test(entry.name) && !byName.has(entry.name)) {
        byName.set(entry.name, full);
      }
    }
  };
  for (const dir of dirs) walk(dir, 0);

  const upright = (name: string) => !/bold|italic|oblique|light|thin|black|medium|semi|condensed|narrow/i.test(name);
  const names = [...byName.keys()].sort();
  const chosen =
    PREFERRED.find((name) => byName.has(name)) ??
    names.find((name) => /sans/i.test(name) && !/mono/i.test(name) && upright(name)) ??
    names.find(upright);
  if (!chosen) return undefined;
  const regular = byName.get(chosen)!;
  const files = [regular];
  const bold = boldBeside(regular);
  if (bold) files.push(bold);
  let family: string | undefined;
  try {
    family = readFontFamily(readFileSync(regular));
  } catch {
    family = undefined;
  }
  return { files, family: family ?? chosen.replace(/(-Regular)?\.(ttf|otf)$/i, '') };
}

/** `Name-Bold.ttf` (or .otf) in the folder of `Name.ttf` / `Name-Regular.ttf`, if it exists. */
function boldBeside(regular: string): string | undefined {
  const dir = path.dirname(regular);
  const stem = path.basename(regular).replace(/(-Regular)?\.(ttf|otf)$/i, '');
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return undefined;
  }
  const bold = entries.find((name) => name.toLowerCase() === `${stem}-bold.ttf`.toLowerCase() || name.toLowerCase() === `${stem}-bold.otf`.toLowerCase());
  return bold ? path.join(dir, bold) : undefined;
}

/**
 * The family name in an sfnt font's `name` table: the typographic family (name ID 16) when
 * present, else the family (ID 1); Windows (UTF-16BE) records before Macintosh (Roman) ones.
 * Undefined when the data is not a TrueType/OpenType font or has no such record.
 */
export function readFontFamily(data: Uint8Array): string | undefined {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.byteLength < 12) return undefined;
  const version = view.getUint32(0);
  if (version !== 0x00010000 && version !== 0x4f54544f /* OTTO */ && version !== 0x74727565 /* true */) return undefined;
  const numTables = view.getUint16(4);
  let table = -1;
  for (let i = 0; i < numTables; i++) {
    const record = 12 + i * 16;
    if (record + 16 > data.byteLength) return undefined;
    if (String.fromCharCode(...data.subarray(record, record + 4)) === 'name') table = view.getUint32(record + 8);
  }
  if (table < 0 || table + 6 > data.byteLength) return undefined;
  const count = view.getUint16(table + 2);
  const strings = table + view.getUint16(table + 4);
  const found = new Map<string, string>(); // `${nameID}/${kind}` -> text
  for (let i = 0; i < count; i++) {
    const record = table + 6 + i * 12;
    if (record + 12 > data.byteLength) break;
    const platform = view.getUint16(record);
    const encoding = view.getUint16(record + 2);
    const nameId = view.getUint16(record + 6);
    const length = view.getUint16(record + 8);
    const start = strings + view.getUint16(record + 10);
    if ((nameId !== 1 && nameId !== 16) || start + length > data.byteLength) continue;
    const bytes = data.subarray(start, start + length);
    let text: string | undefined;
    let kind: string | undefined;
    if (platform === 3 && (encoding === 1 || encoding === 0)) {
      kind = 'win';
      text = '';
      for (let j = 0; j + 1 < bytes.length; j += 2) text += String.fromCharCode((bytes[j]! << 8) | bytes[j + 1]!);
    } else if (platform === 1 && encoding === 0) {
      kind = 'mac';
      text = String.fromCharCode(...bytes);
    }
    const id = `${nameId}/${kind}`;
    if (kind && text && !found.has(id)) found.set(id, text);
  }
  return found.get('16/win') ?? found.get('1/win') ?? found.get('16/mac') ?? found.get('1/mac');
}

/**
 * The width of `text` in pixels at `fontSize`, from per-character classes calibrated on DejaVu
 * Sans (among the widest common sans faces, so other fonts come out a little narrower, never
 * clipped). Vega uses this for layout where it has no canvas to measure with.
 */
export function estimateTextWidth(text: string, fontSize: number, bold = false): number {
  let em = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code >= 0x2e80) em += 1; // CJK and the like: full width
    else if (/[ijl|!.,:;'`]/.test(char)) em += 0.3;
    else if (char === ' ') em += 0.32;
    else if (/[frt()[\]{}\-/\\"]/.test(char)) em += 0.4;
    else if (/[mwMW%@]/.test(char)) em += 1;
    else if (/[sczxyvkJI]/.test(char)) em += 0.54;
    else if (/[a-z]/.test(char)) em += 0.62;
    else if (/[0-9]/.test(char)) em += 0.64;
    else if (/[A-Z]/.test(char)) em += 0.72;
    else em += 0.7;
  }
  return em * fontSize * (bold ? 1.16 : 1);
}
