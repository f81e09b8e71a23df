import type { SeriesClassification } from '../../models/tsClassification.js';
import { timeLabels } from '../../models/timeSeries.js';
import { chartToJpeg, type ChartSpec, renderChart } from '../../vis/chart.js';

/** PaddleX's plot: the classified series' first target column in blue, labelled with the predicted class id. */
export function classifiedSeriesChart(classification: SeriesClassification): ChartSpec {
  return {
    title: 'Time Series input_ts with Predicted Labels',
    xTitle: 'Time',
    yTitle: 'Value',
    xLabels: timeLabels(classification.series.axis),
    series: [
      { label: `Predicted classid: ${classification.classId}`, values: Array.from(classification.series.columns[0]!), colour: 'blue' },
    ],
  };
}

export function drawClassifiedSeries(classification: SeriesClassification): Promise<Uint8Array> {
  return chartToJpeg(renderChart(classifiedSeriesChart(classification)));
}
