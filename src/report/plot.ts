// Charts and reports without a browser: a Vega-Lite spec is compiled to Vega, rendered to SVG by a
// headless Vega View (renderer 'none', view.toSVG()), and rasterised to PNG by resvg with explicit
// font files (see fonts.ts; without any font the PNG is still drawn, text-less, with a warning).
// lineChartSpec builds the line charts the project draws (accuracy against N on a log2 axis,
// training curves against step); htmlReport puts headings, text, tables and charts (inline SVG,
// no scripts, no network) into one self-contained HTML file. Every file is written atomically.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderAsync } from '@resvg/resvg-js';
import * as vega from 'vega';
import { logger, parse, View, Warn } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { estimateTextWidth, findFont, readFontFamily, type FontChoice } from './fonts.ts';

export type { TopLevelSpec } from 'vega-lite';

// ---- line charts -------------------------------------------------------------------------------

export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

export interface LineChartInput {
  title: string;
  xTitle: string;
  yTitle: string;
  series: Series[];
  /** 'log2': a base-2 log axis with a tick at every power of two in the data's range */
  xScale?: 'linear' | 'log2';
  /** fixed y range (e.g. [0, 1] for accuracy); points outside it are clipped. Default: fit the data */
  yDomain?: [number, number];
  /** a marker on every point (default true; turn off for long training curves) */
  points?: boolean;
}

/**
 * A Vega-Lite spec (plain JSON data) for lines with point markers, one color per series in the
 * given order, and a legend of the series names. Points with a non-finite x or y are left out (the
 * line joins their neighbours); duplicate series names and x <= 0 on a log2 axis are errors.
 */
export function lineChartSpec(input: LineChartInput): TopLevelSpec {
  const names = input.series.map((s) => s.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) throw new Error(`lineChartSpec: two series are named '${duplicate}'`);
  const log2 = input.xScale === 'log2';
  const values = input.series.flatMap((s) =>
    s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).map((p) => ({ series: s.name, x: p.x, y: p.y })),
  );
  if (input.yDomain && !(input.yDomain.every(Number.isFinite) && input.yDomain[0] < input.yDomain[1])) {
    throw new RangeError(`lineChartSpec: yDomain must be two finite numbers, low < high, not [${input.yDomain.join(', ')}]`);
  }

  // Clipping also halves the end points on the plot's edge, so only when some would stray outside.
  const [low, high] = input.yDomain ?? [-Infinity, Infinity];
  const outside = values.some((v) => v.y < low || v.y > high);

  const { xScale, xAxis } = xScaleOf(values, log2, 'lineChartSpec');

  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: input.title,
    padding: 10,
    data: { values },
    mark: { type: 'line', point: input.points === false ? false : { filled: true, size: 36 }, clip: outside },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: input.xTitle, scale: xScale, axis: xAxis },
      y: {
        field: 'y',
        type: 'quantitative',
        title: input.yTitle,
        scale: input.yDomain ? { domain: [...input.yDomain] } : { zero: false },
      },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: names }, legend: { orient: 'right' } },
    },
    config: {
      axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' },
      legend: { labelFontSize: 11, labelLimit: 200 },
      title: { fontSize: 14 },
    },
  } as TopLevelSpec;
}

/**
 * The x scale and axis of a chart of these points: linear, or base-2 log with a tick at every
 * power of two in the data's range (x <= 0 is then an error naming `caller` and the series).
 */
export function xScaleOf(values: readonly { series: string; x: number }[], log2: boolean, caller: string): { xScale: Record<string, unknown>; xAxis: Record<string, unknown> } {
  if (!log2) return { xScale: { zero: false }, xAxis: {} };
  const bad = values.find((v) => v.x <= 0);
  if (bad) throw new RangeError(`${caller}: x = ${bad.x} (series '${bad.series}') cannot be shown on a log2 axis`);
  if (values.length === 0) return { xScale: { type: 'log', base: 2 }, xAxis: {} };
  const first = Math.floor(Math.log2(Math.min(...values.map((v) => v.x))));
  const last = Math.max(first + 1, Math.ceil(Math.log2(Math.max(...values.map((v) => v.x)))));
  const ticks = Array.from({ length: last - first + 1 }, (_, i) => 2 ** (first + i));
  return { xScale: { type: 'log', base: 2, domain: [ticks[0], ticks.at(-1)] }, xAxis: { values: ticks, format: '~g' } };
}

// ---- rendering ---------------------------------------------------------------------------------

// Without a canvas Vega guesses every character 0.8 em wide, which leaves a legend far wider than
// its labels. Its text measurement is a module-level hook (not in vega's typings); when it is on
// the estimate, it is pointed at per-character widths instead (a canvas, if installed, is kept).
interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
  limit?: number;
}
const textMetrics = (vega as unknown as { textMetrics?: { width: unknown; estimateWidth: unknown } }).textMetrics;
if (textMetrics && textMetrics.width === textMetrics.estimateWidth) {
  textMetrics.width = (item: TextItem, text: unknown): number => {
    const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
    const weight = item.fontWeight;
    const bold = weight === 'bold' || weight === 'bolder' || (typeof weight === 'number' && weight >= 600);
    const width = Math.ceil(estimateTextWidth(text == null ? '' : String(text).trim(), size, bold));
    return item.limit && item.limit > 0 ? Math.min(width, item.limit) : width; // Vega truncates to the limit
  };
}

export interface SvgOptions {
  /** the whole picture's size in CSS pixels, axes, title and legend included (default 640 x 400) */
  width?: number;
  height?: number;
}

export interface RenderOptions extends SvgOptions {
  /** pixels per CSS pixel in the PNG (default 2): the PNG is round(width * scale) x round(height * scale) */
  scale?: number;
  /** folders searched for a font (default DEFAULT_FONT_DIRS of fonts.ts) */
  fontDirs?: readonly string[];
  /** explicit font files instead of a search; the first one's family is used for all text */
  fontFiles?: readonly string[];
}

export interface RenderResult {
  png: Buffer;
  svg: string;
  /** Vega-Lite/Vega warnings, and a note when the PNG was drawn without text for want of a font */
  warnings: string[];
}

/**
 * The spec as an SVG string of exactly width x height (autosize 'fit' including padding, which
 * replaces the spec's own width, height and autosize; concatenated or faceted views keep Vega's
 * own size). Warnings from Vega-Lite and Vega are returned, not printed.
 */
export async function renderSvg(spec: TopLevelSpec, options: SvgOptions = {}): Promise<{ svg: string; warnings: string[] }> {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  for (const [name, value] of [['width', width], ['height', height]] as const) {
    if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`renderSvg: ${name} must be a positive number, not ${value}`);
  }
  const warnings: string[] = [];
  const log = logger(Warn, undefined, (_method, level, args) => {
    warnings.push(`${String(level).toLowerCase()}: ${Array.from(args as ArrayLike<unknown>, String).join(' ')}`);
  });
  const sized = { ...spec, width, height, autosize: { type: 'fit', contains: 'padding' } } as TopLevelSpec;
  const compiled = compile(sized, { logger: log }).spec;
  const view = new View(parse(compiled), { renderer: 'none', logger: log, logLevel: Warn });
  try {
    return { svg: await view.toSVG(), warnings };
  } finally {
    view.finalize();
  }
}

/** Renders the spec to SVG and then to PNG; see RenderOptions for sizes and fonts. */
export async function renderPng(spec: TopLevelSpec, options: RenderOptions = {}): Promise<RenderResult> {
  const scale = options.scale ?? 2;
  if (!(Number.isFinite(scale) && scale > 0)) throw new RangeError(`renderPng: scale must be a positive number, not ${scale}`);
  const { svg, warnings } = await renderSvg(spec, options);
  const font = chooseFont(options, warnings);
  if (!font) {
    warnings.push(
      `no font file found (searched ${(options.fontFiles ?? options.fontDirs ?? ['the standard font folders']).join(', ')}); ` +
        'the PNG has no text. Install one (Debian/Ubuntu: apt-get install fonts-dejavu-core) or pass fontFiles',
    );
  }
  const image = await renderAsync(svg, {
    fitTo: { mode: 'zoom', value: scale },
    logLevel: 'off',
    font: font
      ? { loadSystemFonts: false, fontFiles: font.files, defaultFontFamily: font.family, sansSerifFamily: font.family }
      : { loadSystemFonts: false, fontFiles: [] },
  });
  return { png: image.asPng(), svg, warnings };
}

function chooseFont(options: RenderOptions, warnings: string[]): FontChoice | undefined {
  if (!options.fontFiles) return findFont(options.fontDirs);
  const files: string[] = [];
  let family: string | undefined;
  for (const file of options.fontFiles) {
    try {
      const data = readFileSync(file);
      family ??= readFontFamily(data) ?? path.basename(file).replace(/(-Regular)?\.\w+$/i, '');
      files.push(file);
    } catch (error) {
      warnings.push(`font file ${file} cannot be read: ${(error as Error).message}`);
    }
  }
  return family === undefined ? undefined : { files, family };
}

// ---- files ---------------------------------------------------------------------------------------

/** Writes through a temporary file in the same folder and a rename: never a partial file. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, data);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Renders the spec to a PNG at `file` (replacing it atomically) and, with `svg: true`, the SVG
 * beside it (same name, .svg). Returns the render result and the paths written.
 */
export async function writePlot(
  file: string,
  spec: TopLevelSpec,
  options: RenderOptions & { svg?: boolean } = {},
): Promise<RenderResult & { files: string[] }> {
  const result = await renderPng(spec, options);
  const files = [file];
  if (options.svg) {
    const svgFile = file.replace(/\.png$/i, '') + '.svg';
    await writeFileAtomic(svgFile, result.svg);
    files.push(svgFile);
  }
  await writeFileAtomic(file, result.png);
  return { ...result, files };
}

// ---- HTML reports --------------------------------------------------------------------------------

export type TableCell = string | number | boolean | null | undefined;

export interface ReportSection {
  heading: string;
  /** plain text; blank lines separate paragraphs */
  text?: string;
  table?: { columns: string[]; rows: TableCell[][] };
  spec?: TopLevelSpec;
}

export interface Report {
  title: string;
  sections: ReportSection[];
}

const CSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #222; max-width: 980px; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; border-bottom: 1px solid #ddd; padding-bottom: .4rem; }
h2 { font-size: 1.25rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: .92rem; }
th, td { border: 1px solid #ddd; padding: .3rem .6rem; text-align: left; }
th { background: #f5f5f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafafa; }
figure.chart { margin: 1rem 0; }
figure.chart svg { max-width: 100%; height: auto; }
`.trim();

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Integers as they are, other numbers to 4 significant digits, null/undefined empty. */
function formatCell(cell: TableCell): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'number') return Number.isInteger(cell) || !Number.isFinite(cell) ? String(cell) : String(Number(cell.toPrecision(4)));
  return String(cell);
}

/** Vega's SVG made fit to inline in HTML: no namespace URLs, ids prefixed so charts cannot collide. */
function inlineSvg(svg: string, prefix: string): string {
  return svg
    .replace(/\s+xmlns(?::\w+)?="[^"]*"/g, '')
    .replace(/(\s)id="([^"]+)"/g, (_, space: string, id: string) => `${space}id="${prefix}${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}${id})`)
    .replace(/href="#([^"]+)"/g, (_, id: string) => `href="#${prefix}${id}"`);
}

function tableHtml(table: NonNullable<ReportSection['table']>): string {
  const head = table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const rows = table.rows.map((row, i) => {
    if (row.length !== table.columns.length) {
      throw new RangeError(`htmlReport: table row ${i} has ${row.length} cells for ${table.columns.length} columns`);
    }
    const cells = row.map((cell) => `<td${typeof cell === 'number' ? ' class="num"' : ''}>${escapeHtml(formatCell(cell))}</td>`);
    return `<tr>${cells.join('')}</tr>`;
  });
  return `<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`;
}

/**
 * A self-contained HTML page: the title, then per section its heading, text paragraphs, table and
 * chart (rendered here to inline SVG; async for that reason). No scripts and no external
 * references, so it opens offline and can be attached anywhere.
 */
export async function htmlReport(report: Report, options: SvgOptions = {}): Promise<string> {
  const body: string[] = [`<h1>${escapeHtml(report.title)}</h1>`];
  let charts = 0;
  for (const section of report.sections) {
    const parts = [`<h2>${escapeHtml(section.heading)}</h2>`];
    for (const paragraph of (section.text ?? '').split(/\n\s*\n/)) {
      if (paragraph.trim()) parts.push(`<p>${escapeHtml(paragraph.trim())}</p>`);
    }
    if (section.table) parts.push(tableHtml(section.table));
    if (section.spec) {
      const { svg } = await renderSvg(section.spec, options);
      charts += 1;
      parts.push(`<figure class="chart">${inlineSvg(svg, `chart${charts}-`)}</figure>`);
    }
    body.push(`<section>\n${parts.join('\n')}\n</section>`);
  }
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(report.title)}</title>`,
    `<style>\n${CSS}\n</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** htmlReport written atomically to `file`. */
export async function writeHtmlReport(file: string, report: Report, options: SvgOptions = {}): Promise<void> {
  await writeFileAtomic(file, await htmlReport(report, options));
}
