import type { Forecast } from '../../models/tsForecasting.js';
import { timeLabels } from '../../models/timeSeries.js';
import { chartToJpeg, type ChartSpec, renderChart } from '../../vis/chart.js';

/**
 * PaddleX's forecast plot: the last min(forecast, history) input rows (dashed blue "Actual Data"),
 * then the forecast (red), of the first target column, one x label per time.
 */
export function forecastChart(forecast: Forecast): ChartSpec {
  const length = Math.min(forecast.values[0]!.length, forecast.history.columns[0]!.length);
  const historyLabels = timeLabels(forecast.history.axis).slice(-length);
  const history = Array.from(forecast.history.columns[0]!.slice(-length));
  const future = Array.from(forecast.values[0]!);
  return {
    title: 'Time Series Forecast',
    xTitle: 'Time',
    yTitle: forecast.columns[0]!,
    xLabels: [...historyLabels, ...timeLabels(forecast.axis)],
    series: [
      { label: 'Actual Data', values: [...history, ...future.map(() => null)], colour: 'blue', dashed: true },
      { label: 'Forecast', values: [...history.map(() => null), ...future], colour: 'red' },
    ],
  };
}

export function drawForecast(forecast: Forecast): Promise<Uint8Array> {
  return chartToJpeg(renderChart(forecastChart(forecast)));
}
