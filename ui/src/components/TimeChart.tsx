import 'uplot/dist/uPlot.min.css';

import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

import type { Theme } from '../theme';

export interface ChartSeries {
  label: string;
  values: number[];
  /** Name of the CSS custom property with the line colour; `<name>-fill` is the area colour. */
  color: string;
}

export interface TimeChartProps {
  title: string;
  /** Times in seconds since the epoch. */
  times: number[];
  series: ChartSeries[];
  format: (value: number) => string;
  /** Puts value ticks at powers of two (1 KiB, 2 KiB, 4 KiB…), which binary size units label evenly. */
  binary?: boolean;
  /** The time range shown, in seconds since the epoch, so that every chart of a range lines up. */
  span: [number, number];
  /** Redraws with the colours of the new scheme when it changes. */
  theme: Theme;
  /** One sentence for screen readers, which cannot read the canvas. */
  summary: string;
}

const height = 220;

/** 1, 2, 4 … 512 times each power of 1024, up to 512 EiB. */
const binaryIncrements = Array.from({ length: 7 }, (_, power) =>
  Array.from({ length: 10 }, (_unused, step) => 2 ** step * 1024 ** power),
).flat();

/** Draws a uPlot line chart over time that fills its container's width and redraws when that changes. */
export function TimeChart({ title, times, series, format, binary, span, theme, summary }: TimeChartProps) {
  const container = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = container.current;

    if (!element) {
      return undefined;
    }

    const plot = new uPlot(
      chartOptions(element.clientWidth, series, format, span, times.length, binary === true),
      [times, ...series.map((s) => s.values)],
      element,
    );
    const observer = new ResizeObserver(() => {
      if (element.clientWidth > 0 && element.clientWidth !== plot.width) {
        plot.setSize({ width: element.clientWidth, height });
      }
    });

    observer.observe(element);

    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [times, series, format, binary, span[0], span[1], theme]);

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={container} class="chart-canvas" role="img" aria-label={`${title}. ${summary}`} />
    </figure>
  );
}

function cssColor(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function chartOptions(
  width: number,
  series: ChartSeries[],
  format: (value: number) => string,
  span: [number, number],
  sampleCount: number,
  binary: boolean,
): uPlot.Options {
  const axisColor = cssColor('--text-muted');
  const gridColor = cssColor('--chart-grid');
  const axis = {
    stroke: axisColor,
    grid: { stroke: gridColor, width: 1 },
    ticks: { stroke: gridColor, width: 1 },
  };

  return {
    width: Math.max(width, 200),
    height,
    series: [
      {},
      ...series.map((entry) => ({
        label: entry.label,
        stroke: cssColor(entry.color),
        fill: cssColor(`${entry.color}-fill`),
        width: 2,
        // Dots make a short series readable; on a long one they would hide the line.
        points: { show: sampleCount <= 60 },
        value: (_plot: uPlot, value: number | null) => (value === null ? '—' : format(value)),
      })),
    ],
    axes: [
      axis,
      {
        ...axis,
        size: 72,
        ...(binary ? { incrs: binaryIncrements } : {}),
        values: (_plot: uPlot, splits: number[]) =>
          splits.map((value) => (Number.isInteger(value) ? format(value) : '')),
      },
    ],
    scales: {
      x: { time: true, range: () => span },
      y: { range: (_plot, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
    },
    cursor: { points: { size: 6 } },
    legend: { live: true },
  };
}
