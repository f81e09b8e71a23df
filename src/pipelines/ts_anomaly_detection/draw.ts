import type { AnomalyDetection } from '../../models/tsAnomalyDetection.js';
import { timeLabels } from '../../models/timeSeries.js';
import { chartToJpeg, type ChartSeries, type ChartSpec, renderChart } from '../../vis/chart.js';

/** matplotlib's default colour cycle without its red, which marks the anomalies here. */
const FEATURE_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
export const ANOMALY_COLOUR = '#ff0000';

/**
 * The scored rows, one line per feature column, with a red marker on the first feature at every
 * anomalous step. (PaddleX plots only the 0/1 label as a step line; the series with its anomalies
 * marked shows what was flagged.)
 */
export function anomalyChart(detection: AnomalyDetection): ChartSpec {
  const { featureNames } = detection;
  const lines: ChartSeries[] = detection.series.columns.map((column, c) => ({
    label: featureNames[c]!,
    values: Array.from(column),
    colour: FEATURE_COLOURS[c % FEATURE_COLOURS.length]!,
  }));
  const first = detection.series.columns[0]!;
  const markers: ChartSeries = {
    label: 'Anomaly',
    values: Array.from(detection.labels, (label, t) => (label ? first[t]! : null)),
    colour: ANOMALY_COLOUR,
    markersOnly: true,
  };
  return {
    title: 'Time Series Anomaly Detection',
    xTitle: 'Time',
    yTitle: featureNames.length === 1 ? featureNames[0]! : 'Value',
    xLabels: timeLabels(detection.axis),
    series: [...lines, markers],
  };
}

export function drawAnomalies(detection: AnomalyDetection): Promise<Uint8Array> {
  return chartToJpeg(renderChart(anomalyChart(detection)));
}
