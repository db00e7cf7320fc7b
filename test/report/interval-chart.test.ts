// Lines with confidence bands: every series its own color, dash pattern and marker shape; bands only
// where a point has both ends; a reference line; rendered with the title and every name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intervalChartSpec, type IntervalChartInput } from '../../src/report/interval-chart.ts';
import { renderSvg } from '../../src/report/plot.ts';

const names = ['self-certainty', 'borda', 'weighted', 'majority', 'majority-sc', 'random', 'perplexity', 'entropy', 'oracle'];
const input: IntervalChartInput = {
  title: 'Best-of-N accuracy: organism on arith-test',
  subtitle: '200 problems',
  xTitle: 'N',
  yTitle: 'accuracy',
  xScale: 'log2',
  yDomain: [0, 1],
  series: names.map((name, i) => ({ name, points: [1, 2, 4].map((x) => ({ x, y: 0.3 + 0.01 * i, low: 0.25, high: 0.35 + 0.01 * i })) })),
};

test('every series is told apart three ways, and the legend names them all', () => {
  const spec = intervalChartSpec(input) as any;
  assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec, 'plain data');
  const [band, line, points] = spec.layer;
  assert.equal(band.mark.type, 'area');
  assert.equal(band.encoding.y.field, 'low');
  assert.equal(band.encoding.y2.field, 'high');
  assert.equal(band.encoding.y.stack, null, 'bands are not stacked');
  const dashes = line.encoding.strokeDash.scale.range.map((d: number[]) => d.join(','));
  const shapes = points.encoding.shape.scale.range;
  assert.equal(new Set(dashes).size, names.length, 'a dash pattern per series');
  assert.equal(new Set(shapes.map((s: string, i: number) => `${s}/${dashes[i]}`)).size, names.length);
  assert.equal(new Set(shapes.slice(0, 8)).size, 8, 'eight distinct markers before they repeat');
  assert.deepEqual(line.encoding.color.scale.domain, names);
  assert.deepEqual(spec.title, { text: input.title, subtitle: '200 problems' });
  assert.deepEqual(line.encoding.y.scale.domain, [0, 1]);
  assert.equal(spec.data.values.length, 27);
});

test('a point without both ends of its interval has no band; a reference line is drawn when asked', () => {
  const spec = intervalChartSpec({
    ...input,
    yDomain: undefined,
    reference: 0,
    series: [{ name: 'a', points: [{ x: 1, y: 0.1, low: 0, high: 0.2 }, { x: 2, y: 0.2 }, { x: 4, y: 0.3, low: NaN, high: 0.4 }, { x: 8, y: NaN }] }],
  }) as any;
  assert.deepEqual(spec.data.values.map((v: any) => [v.x, v.low, v.high]), [[1, 0, 0.2], [2, null, null], [4, null, null]]);
  assert.deepEqual(spec.layer[0].transform, [{ filter: 'isValid(datum.low) && isValid(datum.high)' }]);
  assert.deepEqual(spec.layer.at(-1).mark.type, 'rule');
  assert.deepEqual(spec.layer.at(-1).data.values, [{ y: 0 }]);
  assert.throws(() => intervalChartSpec({ ...input, series: [input.series[0]!, input.series[0]!] }), /two series are named 'self-certainty'/);
  assert.throws(() => intervalChartSpec({ ...input, series: [{ name: 'a', points: [{ x: 0, y: 1 }] }] }), /intervalChartSpec: x = 0 .*log2/);
  assert.throws(() => intervalChartSpec({ ...input, yDomain: [1, 1] }), /yDomain/);
});

test('the rendered chart carries the title, the subtitle and every series name', async () => {
  const { svg, warnings } = await renderSvg(intervalChartSpec(input), { width: 700, height: 400 });
  assert.deepEqual(warnings, []);
  for (const text of [input.title, '200 problems', ...names]) assert.ok(svg.includes(`>${text}<`), text);
  assert.ok((svg.match(/role-legend-symbol|legend-symbol/g) ?? []).length > 0);
});
