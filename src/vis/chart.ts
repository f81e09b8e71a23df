/**
 * Line charts of time series, drawn headless with Chart.js on an @napi-rs/canvas canvas (Chart.js
 * uses its DOM-free platform when there is no DOM), in the bundled font. The x axis is categorical,
 * one tick label per time, as PaddleX's matplotlib plots put the index strings on the x axis.
 */
import { type Canvas, createCanvas } from '@napi-rs/canvas';
import { Chart, type ChartConfiguration, registerables } from 'chart.js';
import { canvasToJpeg, PIL_JPEG_QUALITY } from './draw.js';
import { ensureVisFont, VIS_FONT_FAMILY } from './fonts.js';

/** PaddleX draws its time-series plots at matplotlib figsize (12, 6), 100 dpi. */
export const CHART_WIDTH = 1200;
export const CHART_HEIGHT = 600;

export interface ChartSeries {
  label: string;
  /** one value per x label; null leaves a gap */
  values: ReadonlyArray<number | null>;
  colour: string;
  dashed?: boolean;
  /** points only (markers), no line */
  markersOnly?: boolean;
}

export interface ChartSpec {
  title: string;
  xTitle: string;
  yTitle: string;
  xLabels: readonly string[];
  series: readonly ChartSeries[];
}

export interface RenderedChart {
  canvas: Canvas;
  /** pixel x of the i-th x label */
  xPixel(index: number): number;
  /** pixel y of a value */
  yPixel(value: number): number;
}

let registered = false;
function ensureChartJs(): void {
  if (registered) return;
  Chart.register(...registerables);
  Chart.defaults.font.family = VIS_FONT_FAMILY;
  Chart.defaults.font.size = 13;
  Chart.defaults.color = '#333333';
  registered = true;
}

const MARKER_RADIUS = 5;

/** Draws the chart on a white canvas and returns it with the mapping from data to pixels. */
export function renderChart(spec: ChartSpec): RenderedChart {
  ensureVisFont();
  ensureChartJs();
  const canvas = createCanvas(CHART_WIDTH, CHART_HEIGHT);
  const config: ChartConfiguration<'line', Array<number | null>, string> = {
    type: 'line',
    data: {
      labels: [...spec.xLabels],
      datasets: spec.series.map((s) => ({
        label: s.label,
        data: [...s.values],
        borderColor: s.colour,
        backgroundColor: s.colour,
        borderWidth: 2,
        borderDash: s.dashed ? [8, 5] : [],
        showLine: !s.markersOnly,
        pointRadius: s.markersOnly ? MARKER_RADIUS : 0,
        pointHoverRadius: 0,
        spanGaps: false,
        // Chart.js draws the lowest `order` last: markers go on top of the lines
        order: s.markersOnly ? 0 : 1,
      })),
    },
    options: {
      responsive: false,
      animation: false,
      devicePixelRatio: 1,
      events: [],
      layout: { padding: { right: 16 } },
      plugins: {
        title: { display: true, text: spec.title, font: { size: 16 } },
        legend: { display: true, labels: { boxHeight: 2 } },
        tooltip: { enabled: false },
      },
      scales: {
        x: {
          title: { display: true, text: spec.xTitle },
          ticks: { maxRotation: 45, minRotation: 45, autoSkip: true, autoSkipPadding: 8 },
          grid: { color: '#dddddd' },
        },
        y: { title: { display: true, text: spec.yTitle }, grid: { color: '#dddddd' } },
      },
    },
    plugins: [
      {
        id: 'whiteBackground',
        beforeDraw: (chart) => {
          chart.ctx.save();
          chart.ctx.fillStyle = '#ffffff';
          chart.ctx.fillRect(0, 0, chart.width, chart.height);
          chart.ctx.restore();
        },
      },
    ],
  };
  // Chart.js types expect a DOM canvas context; @napi-rs/canvas provides the same 2D API.
  const chart = new Chart(canvas.getContext('2d') as unknown as ConstructorParameters<typeof Chart>[0], config);
  const xScale = chart.scales.x!;
  const yScale = chart.scales.y!;
  // destroy() unregisters the chart (Chart.js keeps every live chart) and clears its canvas: keep a copy
  const copy = createCanvas(CHART_WIDTH, CHART_HEIGHT);
  copy.getContext('2d').drawImage(canvas, 0, 0);
  chart.destroy();
  return {
    canvas: copy,
    xPixel: (index) => xScale.getPixelForValue(index),
    yPixel: (value) => yScale.getPixelForValue(value),
  };
}

/** The chart as JPEG at PIL's default quality (PaddleX saves its plots with PIL). */
export function chartToJpeg(chart: RenderedChart): Promise<Uint8Array> {
  return canvasToJpeg(chart.canvas, PIL_JPEG_QUALITY);
}
