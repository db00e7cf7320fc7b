// Lines with confidence bands (e.g. accuracy vs N per selection rule, each point with its bootstrap
// interval), drawn so that every series stays identifiable where curves overlap: besides its color
// each series has its own dash pattern and its own marker shape, and the legend shows all three.
// The band is a translucent area between each point's low and high; a reference line (e.g. 0 for
// differences between rules) can be drawn across. A Vega-Lite spec, rendered by plot.ts.

import type { TopLevelSpec } from 'vega-lite';
import { xScaleOf } from './plot.ts';

export interface IntervalPoint {
  x: number;
  y: number;
  /** the interval around y; the band leaves out points without both */
  low?: number;
  high?: number;
}

export interface IntervalSeries {
  name: string;
  points: IntervalPoint[];
}

export interface IntervalChartInput {
  title: string;
  /** a second, smaller title line (e.g. how the intervals were made) */
  subtitle?: string;
  xTitle: string;
  yTitle: string;
  series: IntervalSeries[];
  xScale?: 'linear' | 'log2';
  /** fixed y range; bands and lines outside it are clipped. Default: fit the data and the bands */
  yDomain?: [number, number];
  /** a horizontal line at this y */
  reference?: number;
}

// Dash patterns and marker shapes, in series order (cycled, with different periods, beyond them).
const DASHES = [[1, 0], [7, 3], [2, 2], [9, 3, 2, 3], [4, 2, 1, 2], [12, 3], [3, 5], [6, 2, 2, 2, 2, 2], [1, 4]];
const SHAPES = ['circle', 'square', 'triangle-up', 'diamond', 'cross', 'triangle-down', 'triangle-right', 'triangle-left'];

/** The Vega-Lite spec (plain JSON) of `input`; duplicate series names and x <= 0 on a log2 axis are errors. */
export function intervalChartSpec(input: IntervalChartInput): TopLevelSpec {
  const names = input.series.map((s) => s.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) throw new Error(`intervalChartSpec: two series are named '${duplicate}'`);
  if (input.yDomain && !(input.yDomain.every(Number.isFinite) && input.yDomain[0] < input.yDomain[1])) {
    throw new RangeError(`intervalChartSpec: yDomain must be two finite numbers, low < high, not [${input.yDomain.join(', ')}]`);
  }
  const finite = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);
  const values = input.series.flatMap((s) =>
    s.points
      .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
      .map((p) => ({ series: s.name, x: p.x, y: p.y, low: finite(p.low) && finite(p.high) ? p.low : null, high: finite(p.low) && finite(p.high) ? p.high : null })),
  );
  const { xScale, xAxis } = xScaleOf(values, input.xScale === 'log2', 'intervalChartSpec');
  const [bottom, top] = input.yDomain ?? [-Infinity, Infinity];
  const clip = values.some((v) => v.y < bottom || v.y > top || (v.low !== null && v.low < bottom) || (v.high !== null && v.high > top));
  const yScale = input.yDomain ? { domain: [...input.yDomain] } : { zero: false };

  const x = { field: 'x', type: 'quantitative', title: input.xTitle, scale: xScale, axis: xAxis };
  const y = { field: 'y', type: 'quantitative', title: input.yTitle, scale: yScale };
  const series = { field: 'series', type: 'nominal', title: null };
  const color = { ...series, scale: { domain: names }, legend: { orient: 'right', symbolStrokeWidth: 2, symbolSize: 120 } };
  const strokeDash = { ...series, scale: { domain: names, range: names.map((_, i) => DASHES[i % DASHES.length]) } };
  const shape = { ...series, scale: { domain: names, range: names.map((_, i) => SHAPES[i % SHAPES.length]) } };
  const layer: Record<string, unknown>[] = [
    {
      transform: [{ filter: 'isValid(datum.low) && isValid(datum.high)' }],
      mark: { type: 'area', opacity: 0.1, clip },
      encoding: { x, y: { field: 'low', type: 'quantitative', title: input.yTitle, scale: yScale, stack: null }, y2: { field: 'high' }, color },
    },
    { mark: { type: 'line', strokeWidth: 1.8, clip }, encoding: { x, y, color, strokeDash } },
    { mark: { type: 'point', filled: true, size: 42, opacity: 1, clip }, encoding: { x, y, color, shape } },
  ];
  if (input.reference !== undefined) {
    layer.push({ data: { values: [{ y: input.reference }] }, mark: { type: 'rule', color: '#777', strokeWidth: 1 }, encoding: { y: { field: 'y', type: 'quantitative' } } });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: input.subtitle ? { text: input.title, subtitle: input.subtitle } : input.title,
    padding: 10,
    data: { values },
    layer,
    config: {
      axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' },
      legend: { labelFontSize: 11, labelLimit: 240, symbolOpacity: 1 },
      title: { fontSize: 14, subtitleFontSize: 11 },
    },
  } as unknown as TopLevelSpec;
}
