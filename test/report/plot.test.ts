// Line-chart specs, SVG/PNG rendering (sizes from the PNG header, text and lines in the SVG, the
// no-font fallback), atomic files, and self-contained HTML reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findFont, readFontFamily } from '../../src/report/fonts.ts';
import { htmlReport, lineChartSpec, renderPng, renderSvg, writeHtmlReport, writePlot, type LineChartInput } from '../../src/report/plot.ts';

const DEJAVU = '/usr/share/fonts/truetype/dejavu';
const haveFont = findFont() !== undefined;
const Ns = [1, 2, 4, 8, 16];
const accuracy: LineChartInput = {
  title: 'Accuracy vs N',
  xTitle: 'N',
  yTitle: 'accuracy',
  xScale: 'log2',
  yDomain: [0, 1],
  series: [
    { name: 'self-certainty', points: Ns.map((x, i) => ({ x, y: 0.4 + 0.05 * i })) },
    { name: 'majority vote', points: Ns.map((x, i) => ({ x, y: 0.4 + 0.03 * i })) },
  ],
};
const temp = () => mkdtempSync(path.join(tmpdir(), 'intuitor-plot-'));

function pngSize(png: Buffer): { width: number; height: number } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(png.readUInt32BE(8), 13, 'IHDR length');
  assert.equal(png.toString('latin1', 12, 16), 'IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** The texts and x offsets of the labels of the axis whose aria-label starts with `axis`. */
function axisLabels(svg: string, axis: 'X-axis' | 'Y-axis'): { text: string; x: number }[] {
  const start = svg.indexOf(`aria-label="${axis}`);
  assert.ok(start >= 0, `${axis} in the SVG`);
  const group = svg.slice(svg.indexOf('role-axis-label', start));
  const labels = group.slice(0, group.indexOf('</g>'));
  return [...labels.matchAll(/<text[^>]*transform="translate\(([-\d.]+),[-\d.]+\)"[^>]*>([^<]*)<\/text>/g)].map((m) => ({ text: m[2]!, x: Number(m[1]) }));
}

test('lineChartSpec is plain data: one color per series in order, non-finite points left out', () => {
  const spec = lineChartSpec({
    ...accuracy,
    series: [...accuracy.series, { name: 'random', points: [{ x: 1, y: 0.4 }, { x: 2, y: Number.NaN }, { x: 4, y: 0.41 }] }],
  }) as any;
  assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec);
  assert.deepEqual(spec.encoding.color.scale.domain, ['self-certainty', 'majority vote', 'random']);
  assert.equal(spec.data.values.length, 5 + 5 + 2);
  assert.deepEqual(spec.encoding.x.axis.values, [1, 2, 4, 8, 16]);
  assert.deepEqual(spec.encoding.y.scale.domain, [0, 1]);
  assert.equal(spec.mark.clip, false);
  assert.equal(spec.title, 'Accuracy vs N');
  assert.deepEqual(spec.mark.point, { filled: true, size: 36 });
  assert.equal((lineChartSpec({ ...accuracy, points: false }) as any).mark.point, false);
  // Points beyond a fixed y range are clipped, not drawn outside the plot.
  const beyond = lineChartSpec({ ...accuracy, series: [{ name: 'a', points: [{ x: 1, y: 1.5 }] }] }) as any;
  assert.equal(beyond.mark.clip, true);
  // The ticks cover the data's range in powers of two, e.g. 3..20 -> 2..32.
  const wide = lineChartSpec({ ...accuracy, series: [{ name: 'a', points: [{ x: 3, y: 0 }, { x: 20, y: 1 }] }] }) as any;
  assert.deepEqual(wide.encoding.x.axis.values, [2, 4, 8, 16, 32]);
  assert.deepEqual(wide.encoding.x.scale.domain, [2, 32]);
});

test('lineChartSpec rejects duplicate names, x <= 0 on a log2 axis and a bad yDomain', () => {
  const twice = { ...accuracy, series: [accuracy.series[0]!, accuracy.series[0]!] };
  assert.throws(() => lineChartSpec(twice), /two series are named 'self-certainty'/);
  assert.throws(() => lineChartSpec({ ...accuracy, series: [{ name: 'a', points: [{ x: 0, y: 1 }] }] }), /x = 0 .*log2/);
  assert.doesNotThrow(() => lineChartSpec({ ...accuracy, xScale: 'linear', series: [{ name: 'a', points: [{ x: 0, y: 1 }] }] }));
  assert.throws(() => lineChartSpec({ ...accuracy, yDomain: [1, 0] }), /yDomain/);
});

test('renderPng: PNG of width x height x scale, SVG with the title, the series names and a line each', async () => {
  const result = await renderPng(lineChartSpec(accuracy), { width: 500, height: 300, scale: 1.5 });
  assert.deepEqual(pngSize(result.png), { width: 750, height: 450 });
  assert.match(result.svg, /^<svg[^>]* width="500" height="300"/);
  assert.match(result.svg, />Accuracy vs N</);
  assert.match(result.svg, />self-certainty</);
  assert.match(result.svg, />majority vote</);
  const lines = [...result.svg.matchAll(/<path aria-label="[^"]*series: ([^"]*)"[^>]*aria-roledescription="line mark"[^>]*stroke="(#[0-9a-f]+)"/g)];
  assert.deepEqual(lines.map((m) => m[1]).sort(), ['majority vote', 'self-certainty']);
  assert.notEqual(lines[0]![2], lines[1]![2], 'one color per series');
  if (haveFont) assert.deepEqual(result.warnings, []);

  const defaults = await renderPng(lineChartSpec(accuracy));
  assert.deepEqual(pngSize(defaults.png), { width: 1280, height: 800 });
  await assert.rejects(renderPng(lineChartSpec(accuracy), { scale: 0 }), /scale must be a positive number/);
  await assert.rejects(renderPng(lineChartSpec(accuracy), { width: -1 }), /width must be a positive number/);
});

test('a log2 x axis has ticks 1, 2, 4, 8, 16, evenly spaced; a linear one is not', async () => {
  const log = axisLabels((await renderSvg(lineChartSpec(accuracy))).svg, 'X-axis');
  assert.deepEqual(log.map((l) => l.text), ['1', '2', '4', '8', '16']);
  const gaps = log.slice(1).map((l, i) => l.x - log[i]!.x);
  for (const gap of gaps) assert.ok(Math.abs(gap - gaps[0]!) < 0.01 && gap > 50, `even gaps: ${gaps.join(', ')}`);

  const linear = axisLabels((await renderSvg(lineChartSpec({ ...accuracy, xScale: 'linear' }))).svg, 'X-axis');
  assert.ok(!linear.map((l) => l.text).join(',').startsWith('1,2,4,8,16'), 'linear ticks differ');
});

test('without any font the PNG is still drawn, without text, and a warning says so', async () => {
  const empty = temp();
  const spec = lineChartSpec(accuracy);
  const bare = await renderPng(spec, { width: 400, height: 250, scale: 2, fontDirs: [empty] });
  assert.deepEqual(pngSize(bare.png), { width: 800, height: 500 });
  assert.equal(bare.warnings.length, 1);
  assert.match(bare.warnings[0]!, /no font file found .*fonts-dejavu-core/);
  assert.match(bare.svg, />Accuracy vs N</, 'the SVG keeps its text');
  const missing = await renderPng(spec, { width: 400, height: 250, fontFiles: [path.join(empty, 'none.ttf')] });
  assert.ok(missing.warnings.some((w) => /none\.ttf cannot be read/.test(w)));
  assert.ok(missing.warnings.some((w) => /no font file found/.test(w)));
  if (haveFont) {
    // Text adds detail: the same chart with a font compresses to a clearly larger PNG.
    const withText = await renderPng(spec, { width: 400, height: 250, scale: 2 });
    assert.deepEqual(withText.warnings, []);
    assert.ok(withText.png.length > bare.png.length * 1.2, `${withText.png.length} vs ${bare.png.length} bytes`);
  }
});

test('findFont prefers DejaVu Sans, adds its bold face, and reads the family name', { skip: !existsSync(`${DEJAVU}/DejaVuSans.ttf`) && 'no DejaVu fonts here' }, () => {
  const root = temp();
  mkdirSync(path.join(root, 'a/b'), { recursive: true });
  writeFileSync(path.join(root, 'a/Zzz-Regular.ttf'), 'not a font');
  for (const name of ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSansMono.ttf']) copyFileSync(`${DEJAVU}/${name}`, path.join(root, 'a/b', name));
  const font = findFont([path.join(root, 'missing'), root]);
  assert.deepEqual(font, { files: [path.join(root, 'a/b/DejaVuSans.ttf'), path.join(root, 'a/b/DejaVuSans-Bold.ttf')], family: 'DejaVu Sans' });
  assert.equal(readFontFamily(readFileSync(`${DEJAVU}/DejaVuSansMono.ttf`)), 'DejaVu Sans Mono');
  assert.equal(readFontFamily(Buffer.from('not a font at all')), undefined);
  assert.equal(findFont([temp()]), undefined);
});

test('writePlot replaces an existing file atomically and writes the SVG beside it when asked', async () => {
  const dir = temp();
  const file = path.join(dir, 'accuracy.png');
  writeFileSync(file, 'old contents');
  const result = await writePlot(file, lineChartSpec(accuracy), { width: 320, height: 200, scale: 1, svg: true });
  assert.deepEqual(readdirSync(dir).sort(), ['accuracy.png', 'accuracy.svg']);
  assert.deepEqual(result.files, [file, path.join(dir, 'accuracy.svg')]);
  const png = readFileSync(file);
  assert.deepEqual(pngSize(png), { width: 320, height: 200 });
  assert.ok(png.equals(result.png));
  assert.equal(readFileSync(path.join(dir, 'accuracy.svg'), 'utf8'), result.svg);

  // Without svg: only the PNG, in a folder made on the way.
  const nested = path.join(dir, 'runs/x/plot.png');
  await writePlot(nested, lineChartSpec(accuracy), { width: 320, height: 200 });
  assert.deepEqual(readdirSync(path.dirname(nested)), ['plot.png']);

  // A failed rename (the target is a folder) leaves no temporary file behind.
  const blocked = path.join(dir, 'blocked.png');
  mkdirSync(path.join(blocked, 'inside'), { recursive: true });
  await assert.rejects(writePlot(blocked, lineChartSpec(accuracy), { width: 320, height: 200 }));
  assert.deepEqual(readdirSync(dir).sort(), ['accuracy.png', 'accuracy.svg', 'blocked.png', 'runs']);
});

test('htmlReport: inline SVG charts, escaped text, no scripts or external references', async () => {
  const outside = lineChartSpec({ ...accuracy, series: [{ name: 'high', points: [{ x: 1, y: 0.5 }, { x: 2, y: 1.4 }] }] });
  const report = {
    title: 'Run <script>alert(1)</script> & co',
    sections: [
      {
        heading: 'Accuracy "by" rule',
        text: 'First paragraph <b>.\n\nSecond one.',
        table: { columns: ['rule', 'accuracy', 'n'], rows: [['<script>x</script>', 0.123456, 16], ['majority', null, 8]] },
        spec: lineChartSpec({ ...accuracy, title: 'Chart <script>' }),
      },
      { heading: 'Clipped', spec: outside },
      { heading: 'Steps', spec: lineChartSpec({ ...accuracy, xScale: 'linear', yDomain: [0, 0.1], title: 'Loss' }) },
    ],
  };
  const html = await htmlReport(report, { width: 480, height: 300 });
  assert.match(html, /^<!DOCTYPE html>/);
  assert.equal(html.match(/<svg /g)?.length, 3);
  assert.match(html, /<svg [^>]*width="480" height="300"/);
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /\ssrc=/i);
  assert.doesNotMatch(html, /https?:\/\//i);
  assert.match(html, /<title>Run &lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; co<\/title>/);
  assert.match(html, /<h2>Accuracy &quot;by&quot; rule<\/h2>/);
  assert.match(html, /<td>&lt;script&gt;x&lt;\/script&gt;<\/td><td class="num">0.1235<\/td><td class="num">16<\/td>/);
  assert.match(html, /<td>majority<\/td><td><\/td>/);
  assert.match(html, /<p>First paragraph &lt;b&gt;.<\/p>\n<p>Second one.<\/p>/);
  assert.match(html, /Chart &lt;script&gt;/);
  // Clip paths get ids per chart, and every reference points at one that exists exactly once.
  const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(ids.length >= 2, 'the clipped charts have clip paths');
  assert.equal(new Set(ids).size, ids.length, `unique ids: ${ids.join(', ')}`);
  for (const [, ref] of html.matchAll(/url\(#([^)]+)\)/g)) assert.ok(ids.includes(ref!), `${ref} is defined`);
  assert.ok(ids.some((id) => id.startsWith('chart2-')) && ids.some((id) => id.startsWith('chart3-')));

  await assert.rejects(htmlReport({ title: 't', sections: [{ heading: 'h', table: { columns: ['a', 'b'], rows: [[1]] } }] }), /row 0 has 1 cells for 2 columns/);
});

test('writeHtmlReport writes the page atomically', async () => {
  const dir = temp();
  const file = path.join(dir, 'report.html');
  writeFileSync(file, 'old');
  const report = { title: 'Report', sections: [{ heading: 'Only text', text: 'hello' }] };
  await writeHtmlReport(file, report);
  assert.deepEqual(readdirSync(dir), ['report.html']);
  assert.equal(readFileSync(file, 'utf8'), await htmlReport(report));
});
