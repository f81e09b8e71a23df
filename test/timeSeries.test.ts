/**
 * Time-series pipelines on the real PaddleTS-layout fixtures in ../shared/models/ts (DLinear on
 * Mauna Loa CO2, DLinear_ad on European stock returns, TimesNet_cls on chick growth curves): HTTP
 * results against the fixtures' expected CSVs, model tensors against expected_tensors.json, the
 * restricted scaler reader, CSV errors and the plots.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveModel } from '../src/config/models.js';
import { ConfigError } from '../src/errors.js';
import { decodeImage } from '../src/io/codec.js';
import { formatFloat32, parseCsv } from '../src/io/csv.js';
import { PickleFormatError } from '../src/io/restrictedPickle.js';
import { readStandardScalerPickle } from '../src/io/scalerPickle.js';
import { fixedFrequencyMs, formatDateTimes, parseDateTime } from '../src/io/timeIndex.js';
import { TimeSeriesAnomalyDetector } from '../src/models/tsAnomalyDetection.js';
import { TimeSeriesClassifier } from '../src/models/tsClassification.js';
import { TimeSeriesForecaster } from '../src/models/tsForecasting.js';
import { anomalyChart } from '../src/pipelines/ts_anomaly_detection/draw.js';
import { classifiedSeriesChart } from '../src/pipelines/ts_classification/draw.js';
import { forecastChart } from '../src/pipelines/ts_forecast/draw.js';
import { CHART_HEIGHT, CHART_WIDTH, type RenderedChart, renderChart } from '../src/vis/chart.js';
import { runCli } from './helpers/cli.js';
import { cpuRuntime, fixturePipelineYaml, fixtureSubModule } from './helpers/fixtures.js';
import { SHARED_MODELS } from './helpers/paths.js';
import { assertErrorEnvelope, postJson, type RunningServer, startServer } from './helpers/server.js';

const TS = path.join(SHARED_MODELS, 'ts');
const FORECAST_DIR = path.join(TS, 'DLinear');
const ANOMALY_DIR = path.join(TS, 'DLinear_ad');
const CLASSIFIER_DIR = path.join(TS, 'TimesNet_cls');
const CHICKS = [1, 2, 21, 22, 31, 32, 41, 42];

const text = (file: string) => readFile(file, 'utf8');
const base64 = async (file: string) => (await readFile(file)).toString('base64');
const fromBase64 = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
const json = async (file: string) => JSON.parse(await text(file));
const readCsv = async (file: string) => parseCsv(await readFile(file), 'csv');

const loadForecaster = async (dir: string) =>
  TimeSeriesForecaster.load(await fixtureSubModule('ts_forecast', dir), cpuRuntime(), 'SubModules.TSForecast');
let forecaster: Promise<TimeSeriesForecaster> | undefined;
let detector: Promise<TimeSeriesAnomalyDetector> | undefined;
let classifier: Promise<TimeSeriesClassifier> | undefined;
/** The fixture models, loaded once, on a CSV file */
const forecastOf = async (file = path.join(FORECAST_DIR, 'test.csv')) =>
  (await (forecaster ??= loadForecaster(FORECAST_DIR))).predict(await readCsv(file));
const anomaliesOf = async (file = path.join(ANOMALY_DIR, 'test.csv')) => {
  detector ??= fixtureSubModule('ts_anomaly_detection', ANOMALY_DIR).then((sub) =>
    TimeSeriesAnomalyDetector.load(sub, cpuRuntime(), 'SubModules.TSAnomalyDetection'),
  );
  return (await detector).predict(await readCsv(file));
};
const classify = async (file: string) => {
  classifier ??= fixtureSubModule('ts_classification', CLASSIFIER_DIR).then((sub) =>
    TimeSeriesClassifier.load(sub, cpuRuntime(), 'SubModules.TSClassification'),
  );
  return (await classifier).predict(await readCsv(file));
};

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    assert.ok(diff <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]} (|diff| ${diff} > ${tolerance})`);
  }
}

/** Every number of two CSVs equal within `relative`, every other cell identical. */
function assertCsvClose(actual: string, expected: string, relative: number): void {
  const rows = (csv: string) =>
    csv
      .trimEnd()
      .split('\n')
      .map((line) => line.split(','));
  const [a, e] = [rows(actual), rows(expected)];
  assert.equal(a.length, e.length, 'row count');
  e.forEach((row, r) =>
    row.forEach((cell, c) => {
      const [x, y] = [Number(a[r]![c]), Number(cell)];
      if (cell !== '' && Number.isFinite(y) && r > 0)
        assert.ok(Math.abs(x - y) <= relative * Math.abs(y), `row ${r} col ${c}: ${a[r]![c]} vs ${cell}`);
      else assert.equal(a[r]![c], cell, `row ${r} col ${c}`);
    }),
  );
}

describe('time-series pipelines over HTTP on the real fixtures', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({
      pipelines: await Promise.all([
        fixturePipelineYaml('ts_forecast', FORECAST_DIR),
        fixturePipelineYaml('ts_anomaly_detection', ANOMALY_DIR),
        fixturePipelineYaml('ts_classification', CLASSIFIER_DIR),
      ]),
    });
  });
  after(() => server?.close());
  const post = (endpoint: string, body: unknown) => postJson(`${server.url}${endpoint}`, body);

  test('forecast: the Base64 CSV is expected_output.csv (date index continued by 7D, float32 values as pandas writes them)', async () => {
    const res = await post('/time-series-forecasting', { csv: await base64(path.join(FORECAST_DIR, 'test.csv')), visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body.result), ['csv']);
    const csv = fromBase64(res.body.result.csv);
    const expected = await text(path.join(FORECAST_DIR, 'expected_output.csv'));
    assertCsvClose(csv, expected, 1e-4);
    assert.equal(csv, expected, 'byte-identical to pandas to_csv');
  });

  test('anomaly detection: the Base64 CSV is expected_output.csv (timestamp,label; 14 flagged steps)', async () => {
    const res = await post('/time-series-anomaly-detection', { csv: await base64(path.join(ANOMALY_DIR, 'test.csv')), visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const csv = fromBase64(res.body.result.csv);
    assert.equal(csv, await text(path.join(ANOMALY_DIR, 'expected_output.csv')));
    assert.equal(csv.split('\n').filter((line) => line.endsWith(',1')).length, 14);
  });

  test('classification: label and score of all 8 held-out chicks equal expected_output_chick*.csv', async () => {
    for (const chick of CHICKS) {
      const res = await post('/time-series-classification', {
        csv: await base64(path.join(CLASSIFIER_DIR, `test_chick${chick}.csv`)),
        visualize: false,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const [, row] = (await text(path.join(CLASSIFIER_DIR, `expected_output_chick${chick}.csv`))).trim().split('\n');
      const [, classId, score] = row!.split(',');
      assert.equal(res.body.result.label, classId, `chick ${chick}`);
      assert.equal(typeof res.body.result.label, 'string');
      assert.ok(
        Math.abs(res.body.result.score - Number(score)) <= 1e-4 * Number(score),
        `chick ${chick}: ${res.body.result.score} vs ${score}`,
      );
    }
  });

  test('a CSV URL that is not reachable is the usual input error, not a crash', async () => {
    const res = await post('/time-series-forecasting', { csv: 'http://127.0.0.1:1/co2.csv' });
    assert.ok(res.status === 422 || res.status === 400 || res.status === 502, `HTTP ${res.status}`);
    assertErrorEnvelope(res, res.status);
  });

  describe('bad CSVs get a 422 naming the row or column', () => {
    const co2Lines = async () => (await text(path.join(FORECAST_DIR, 'test.csv'))).trimEnd().split('\n');
    const csvOf = (lines: string[]) => Buffer.from(`${lines.join('\n')}\n`).toString('base64');
    const expect422 = async (endpoint: string, csv: string, message: RegExp) => {
      const res = await post(endpoint, { csv });
      assert.match(assertErrorEnvelope(res, 422), message);
    };

    test('a missing column', async () => {
      const lines = await co2Lines();
      await expect422(
        '/time-series-forecasting',
        csvOf(['date,ppm', ...lines.slice(1)]),
        /no column "co2" \(the model's target_cols\); its columns are "date", "ppm"/,
      );
    });
    test('a missing time column', async () => {
      const lines = await co2Lines();
      await expect422('/time-series-forecasting', csvOf(['day,co2', ...lines.slice(1)]), /no column "date" \(the model's time_col\)/);
    });
    test('too few rows', async () => {
      const lines = await co2Lines();
      await expect422(
        '/time-series-forecasting',
        csvOf(lines.slice(0, 51)),
        /50 data rows; the model reads the last 96, so it needs at least 96/,
      );
    });
    test('a non-numeric value, with its line in the client file', async () => {
      const lines = await co2Lines();
      lines[101] = lines[101]!.replace(/,.*/, ',n/a');
      await expect422('/time-series-forecasting', csvOf(lines), /column "co2", line 102: "n\/a" is not a number/);
    });
    test('an empty value', async () => {
      const lines = await co2Lines();
      lines[110] = lines[110]!.replace(/,.*/, ',');
      await expect422('/time-series-forecasting', csvOf(lines), /column "co2", line 111: empty/);
    });
    test('an unparseable time', async () => {
      const lines = await co2Lines();
      lines[100] = lines[100]!.replace(/^[^,]*/, '2000-13-45');
      await expect422('/time-series-forecasting', csvOf(lines), /column "date", line 101: "2000-13-45" is not a date-time/);
    });
    test('unevenly spaced times (no frequency to continue the forecast with)', async () => {
      const lines = await co2Lines();
      lines[119] = lines[119]!.replace(/^[^,]*/, '2000-02-21');
      await expect422('/time-series-forecasting', csvOf(lines), /not evenly spaced/);
    });
    test('integer time steps with a gap', async () => {
      const lines = (await text(path.join(ANOMALY_DIR, 'test.csv'))).trimEnd().split('\n');
      lines.splice(60, 1);
      await expect422(
        '/time-series-anomaly-detection',
        csvOf(lines),
        /column "timestamp" runs from \d+ to \d+ in 96 rows; an integer time column must hold consecutive steps of 1/,
      );
    });
    test('rows of different lengths', async () => {
      const lines = await co2Lines();
      lines[5] = `${lines[5]},extra`;
      await expect422('/time-series-forecasting', csvOf(lines), /not a valid CSV: .*line 6/i);
    });
    test('not UTF-8, and empty', async () => {
      await expect422('/time-series-forecasting', Buffer.from([0x64, 0xff, 0xfe, 0x0a]).toString('base64'), /not valid UTF-8/);
      await expect422('/time-series-forecasting', Buffer.from('\n\n').toString('base64'), /the CSV is empty/);
    });
    test('a classification series of the wrong length', async () => {
      const lines = (await text(path.join(CLASSIFIER_DIR, 'test_chick1.csv'))).trimEnd().split('\n');
      await expect422(
        '/time-series-classification',
        csvOf(lines.slice(0, 12)),
        /series of exactly 12 rows; its first group \(group_id = 1\) has 11/,
      );
    });
    test('a huge file (over a million rows)', async () => {
      const rows = `date,co2\n${'2000-01-01,1\n'.repeat(1_000_001)}`;
      await expect422('/time-series-forecasting', Buffer.from(rows).toString('base64'), /more than 1000000 data rows/);
    });
  });

  test('visualize: a 1200×600 JPEG whose forecast line is red where the forecast values are', async () => {
    const res = await post('/time-series-forecasting', { csv: await base64(path.join(FORECAST_DIR, 'test.csv')), visualize: true });
    assert.equal(res.status, 200);
    const jpeg = Buffer.from(res.body.result.image, 'base64');
    assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
    const img = await decodeImage(new Uint8Array(jpeg), 'image');
    assert.deepEqual([img.width, img.height], [CHART_WIDTH, CHART_HEIGHT]);
    // the same chart, drawn in-process, gives where each forecast point lies
    const forecast = await forecastOf();
    const chart = renderChart(forecastChart(forecast));
    const redNear = (x: number, y: number) =>
      neighbourhood(x, y, 2).some(([px, py]) => {
        const at = (py * img.width + px) * 3;
        return img.data[at]! > 170 && img.data[at + 1]! < 110 && img.data[at + 2]! < 110;
      });
    for (const j of [0, 30, 60, 95])
      assert.ok(redNear(chart.xPixel(96 + j), chart.yPixel(forecast.values[0]![j]!)), `forecast point ${j} is red in the JPEG`);
  });
});

function neighbourhood(x: number, y: number, radius: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let dy = -radius; dy <= radius; dy++) for (let dx = -radius; dx <= radius; dx++) out.push([Math.round(x) + dx, Math.round(y) + dy]);
  return out;
}

/** Whether a pixel within `radius` of (x, y) of the chart is within `tolerance` of `rgb`. */
function chartHasColourNear(
  chart: RenderedChart,
  x: number,
  y: number,
  rgb: [number, number, number],
  radius: number,
  tolerance = 60,
): boolean {
  const size = 2 * radius + 1;
  const { data } = chart.canvas.getContext('2d').getImageData(Math.round(x) - radius, Math.round(y) - radius, size, size);
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i]! - rgb[0]) + Math.abs(data[i + 1]! - rgb[1]) + Math.abs(data[i + 2]! - rgb[2]) <= tolerance) return true;
  }
  return false;
}

const BLUE: [number, number, number] = [0, 0, 255];
const RED: [number, number, number] = [255, 0, 0];

describe('models on the real fixtures: tensors equal expected_tensors.json', () => {
  test('DLinear: past_target [1,96,1] and the forecast output within 1e-5', async () => {
    const expected = await json(path.join(FORECAST_DIR, 'expected_tensors.json'));
    const forecast = await forecastOf();
    assertClose(forecast.tensors.input, expected.input, 1e-5, 'past_target');
    assertClose(forecast.tensors.output, expected.output, 1e-5, 'output');
  });

  test('DLinear_ad: observed_cov_numeric [1,96,4], reconstruction and per-step anomaly scores within 1e-5', async () => {
    const expected = await json(path.join(ANOMALY_DIR, 'expected_tensors.json'));
    const detection = await anomaliesOf();
    assertClose(detection.tensors.input, expected.input, 1e-5, 'observed_cov_numeric');
    assertClose(detection.tensors.output, expected.output0, 1e-5, 'reconstruction');
    assertClose(detection.scores, expected.anomaly_score, 1e-5, 'anomaly_score');
    const flagged = detection.axis.kind === 'integer' ? detection.axis.values.filter((_, t) => detection.labels[t]) : [];
    assert.deepEqual(flagged, expected.flagged_timestamps);
  });

  test('TimesNet_cls: features [1,12,1], pad_mask of ones and logits of all 8 cases within 1e-5', async () => {
    const expected = await json(path.join(CLASSIFIER_DIR, 'expected_tensors.json'));
    for (const c of expected.cases) {
      const result = await classify(path.join(CLASSIFIER_DIR, c.csv));
      assertClose(result.tensors.features, c.features, 1e-5, `${c.csv} features`);
      assert.deepEqual([...result.tensors.padMask], new Array(12).fill(1));
      assertClose(result.tensors.logits, c.logits, 1e-5, `${c.csv} logits`);
      assert.equal(result.classId, c.classid);
      assert.ok(Math.abs(result.score - c.score) <= 1e-5, `${c.csv} score`);
    }
  });

  test('inference.yml with !!python/tuple parses to plain shapes without any warning', () => {
    const warnings: unknown[] = [];
    const [emit, warn] = [process.emitWarning, console.warn];
    process.emitWarning = ((w: unknown) => void warnings.push(w)) as typeof process.emitWarning;
    console.warn = (...args: unknown[]) => void warnings.push(args);
    try {
      const forecast = resolveModel(
        { module_name: 'ts_forecast', model_name: 'DLinear', model_dir: FORECAST_DIR },
        'SubModules.TSForecast',
      );
      const anomaly = resolveModel(
        { module_name: 'ts_anomaly_detection', model_name: 'DLinear_ad', model_dir: ANOMALY_DIR },
        'SubModules.TSAnomalyDetection',
      );
      assert.deepEqual(forecast.inferenceConfig.input_data, { past_target: [null, 96, 1] });
      assert.deepEqual(anomaly.inferenceConfig.input_data, { observed_cov_numeric: [null, 96, 4] });
    } finally {
      process.emitWarning = emit;
      console.warn = warn;
    }
    assert.deepEqual(warnings, []);
  });
});

describe('restricted scaler.pkl reader', () => {
  test('reads the three real joblib StandardScaler dumps, equal to their scaler.json', async () => {
    for (const dir of [FORECAST_DIR, ANOMALY_DIR, CLASSIFIER_DIR]) {
      const state = readStandardScalerPickle(await readFile(path.join(dir, 'scaler.pkl')));
      const expected = await json(path.join(dir, 'scaler.json'));
      assert.deepEqual(state.featureNames, expected.feature_names_in);
      assert.deepEqual([...state.mean!], expected.mean);
      assert.deepEqual([...state.scale!], expected.scale);
      assert.equal(state.withMean, true);
      assert.equal(state.withStd, true);
    }
  });

  test('refuses a pickle that would run os.system (protocol 0 GLOBAL + REDUCE), before anything runs', () => {
    const marker = path.join(os.tmpdir(), `pipeserve-pwned-${process.pid}`);
    const evil = Buffer.from(`cos\nsystem\n(S'touch ${marker}'\ntR.`, 'latin1');
    assert.throws(
      () => readStandardScalerPickle(evil),
      (err: Error) => err instanceof PickleFormatError && /refuses os\.system/.test(err.message),
    );
  });

  test('refuses builtins.eval by STACK_GLOBAL (protocol 4), unknown opcodes and truncated files', async () => {
    const evalPickle = Buffer.concat([
      Buffer.from([0x80, 0x04, 0x8c, 8]),
      Buffer.from('builtins'),
      Buffer.from([0x8c, 4]),
      Buffer.from('eval'),
      Buffer.from([0x93, 0x8c, 6]),
      Buffer.from('1 + 1)'),
      Buffer.from([0x85, 0x52, 0x2e]),
    ]);
    assert.throws(() => readStandardScalerPickle(evalPickle), /refuses builtins\.eval/);
    assert.throws(() => readStandardScalerPickle(Buffer.from([0x80, 0x02, 0x69])), /refuses opcode 0x69/); // INST
    const real = await readFile(path.join(FORECAST_DIR, 'scaler.pkl'));
    assert.throws(() => readStandardScalerPickle(real.subarray(0, real.length - 40)), PickleFormatError);
    // a well-formed pickle of something else than a scaler
    assert.throws(() => readStandardScalerPickle(Buffer.from([0x80, 0x04, 0x4b, 0x07, 0x2e])), /does not hold a StandardScaler/);
  });

  async function modelDirCopy(withScaler: 'evil-pkl' | 'json-only'): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-ts-'));
    for (const file of ['inference.onnx', 'inference.yml']) await copyFile(path.join(FORECAST_DIR, file), path.join(dir, file));
    if (withScaler === 'evil-pkl') await writeFile(path.join(dir, 'scaler.pkl'), Buffer.from("cos\nsystem\n(S'id'\ntR.", 'latin1'));
    else await copyFile(path.join(FORECAST_DIR, 'scaler.json'), path.join(dir, 'scaler.json'));
    return dir;
  }

  test('a model dir whose scaler.pkl runs code is refused at load, naming the file', async () => {
    const dir = await modelDirCopy('evil-pkl');
    await assert.rejects(
      () => loadForecaster(dir),
      (err: Error) =>
        err instanceof ConfigError && err.message.includes(path.join(dir, 'scaler.pkl')) && /refuses os\.system/.test(err.message),
    );
  });

  test('scaler.json alone (no scaler.pkl) gives the same forecast', async () => {
    const dir = await modelDirCopy('json-only');
    const forecast = await (await loadForecaster(dir)).predict(await readCsv(path.join(FORECAST_DIR, 'test.csv')));
    const expected = (await text(path.join(FORECAST_DIR, 'expected_output.csv'))).trim().split('\n').slice(1);
    assert.deepEqual(
      Array.from(forecast.values[0]!, formatFloat32),
      expected.map((line) => line.split(',')[1]),
    );
  });
});

describe('plots: lines and markers are drawn where the data says', () => {
  test('forecast: dashed blue history and red forecast through their values, nothing red over the history', async () => {
    const forecast = await forecastOf();
    const chart = renderChart(forecastChart(forecast));
    const history = forecast.history.columns[0]!;
    for (const i of [0, 20, 47, 70, 95]) {
      // dashes are 8 px on, 5 px off: a 13 px square always holds part of a dash
      assert.ok(chartHasColourNear(chart, chart.xPixel(i), chart.yPixel(history[i]!), BLUE, 6), `history point ${i}`);
      assert.ok(!chartHasColourNear(chart, chart.xPixel(i), chart.yPixel(history[i]!), RED, 2), `no forecast over history point ${i}`);
    }
    for (const j of [0, 10, 48, 95])
      assert.ok(chartHasColourNear(chart, chart.xPixel(96 + j), chart.yPixel(forecast.values[0]![j]!), RED, 1), `forecast point ${j}`);
    // 5 ppm above the forecast there is no line
    assert.ok(!chartHasColourNear(chart, chart.xPixel(96 + 48), chart.yPixel(forecast.values[0]![48]! + 5), RED, 2));
  });

  test('anomaly detection: a red marker on every flagged step and on no other', async () => {
    const detection = await anomaliesOf();
    const chart = renderChart(anomalyChart(detection));
    const dax = detection.series.columns[0]!;
    detection.labels.forEach((label, t) => {
      const marked = chartHasColourNear(chart, chart.xPixel(t), chart.yPixel(dax[t]!), RED, 0, 30);
      assert.equal(marked, label === 1, `step ${t} (label ${label})`);
    });
  });

  test('classification: the blue series passes through each of the 12 weights', async () => {
    const result = await classify(path.join(CLASSIFIER_DIR, 'test_chick21.csv'));
    const spec = classifiedSeriesChart(result);
    assert.equal(spec.series[0]!.label, 'Predicted classid: 3');
    const chart = renderChart(spec);
    const weights = result.series.columns[0]!;
    weights.forEach((w, t) => assert.ok(chartHasColourNear(chart, chart.xPixel(t), chart.yPixel(w), BLUE, 1), `weight ${t}`));
    assert.ok(!chartHasColourNear(chart, chart.xPixel(6), chart.yPixel(weights[6]! + 60), BLUE, 2), 'no line 60 g above the series');
  });
});

describe('built-in YAMLs without models', () => {
  test('each names its PaddleX default model and where to put it', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-home-'));
    for (const [pipeline, role, model] of [
      ['ts_forecast', 'TSForecast', 'DLinear'],
      ['ts_anomaly_detection', 'TSAnomalyDetection', 'DLinear_ad'],
      ['ts_classification', 'TSClassification', 'TimesNet_cls'],
    ] as const) {
      const run = await runCli(['--serve', '--pipeline', pipeline], { PIPESERVE_HOME: home });
      assert.equal(run.code, 1);
      assert.match(run.stderr, new RegExp(`Model "${model}" \\(SubModules\\.${role}, module ${pipeline}\\) was not found`));
      assert.ok(run.stderr.includes(path.join(home, 'models', model)));
    }
  });
});

describe('CSV and time formats as pandas writes them', () => {
  test('float32 cells are numpy’s shortest float32 text (positional for 1e-4 <= |x| < 1e6, else scientific)', () => {
    const cases: Array<[number, string]> = [
      [370.93088, '370.93088'],
      [100, '100.0'],
      [-2.5, '-2.5'],
      [0.1, '0.1'],
      [999999.9, '999999.9'],
      [1234567.8, '1.2345678e+06'],
      [123456789, '1.2345679e+08'],
      [1e-5, '1e-05'],
      [1.5e-5, '1.5e-05'],
      [0.00012345, '0.00012345'],
      [Number.NaN, ''],
    ];
    for (const [value, expected] of cases) assert.equal(formatFloat32(value), expected, String(value));
  });

  test('date-times: dates only when all are midnight, else with the time; impossible dates are refused', () => {
    const [a, b] = [parseDateTime('2000-02-29')!, parseDateTime('2000/03/01 06:30')!];
    assert.deepEqual(formatDateTimes([a]), ['2000-02-29']);
    assert.deepEqual(formatDateTimes([a, b]), ['2000-02-29 00:00:00', '2000-03-01 06:30:00']);
    assert.equal(parseDateTime('2001-02-29'), undefined);
    assert.equal(parseDateTime('12/31/2000'), undefined);
    assert.equal(fixedFrequencyMs('7D'), 7 * 86_400_000);
    assert.equal(fixedFrequencyMs('15min'), 15 * 60_000);
    assert.equal(fixedFrequencyMs('MS'), undefined, 'calendar frequencies are not fixed-length');
  });

  test('a forecast model with an integer time column continues the index from the last step', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-ts-int-'));
    for (const file of ['inference.onnx', 'scaler.pkl']) await copyFile(path.join(FORECAST_DIR, file), path.join(dir, file));
    const yml = (await text(path.join(FORECAST_DIR, 'inference.yml')))
      .replace('freq: 7D', 'freq: 1')
      .replace('time_col: date', 'time_col: week');
    await writeFile(path.join(dir, 'inference.yml'), yml);
    const lines = (await text(path.join(FORECAST_DIR, 'test.csv'))).trimEnd().split('\n');
    const csv = ['week,co2', ...lines.slice(1).map((line, i) => `${1000 + i},${line.split(',')[1]}`)].join('\n');
    const forecast = await (await loadForecaster(dir)).predict(parseCsv(Buffer.from(csv), 'csv'));
    assert.deepEqual(forecast.axis, { kind: 'integer', values: Array.from({ length: 96 }, (_, i) => 1120 + i) });
    const expected = (await text(path.join(FORECAST_DIR, 'expected_output.csv'))).trim().split('\n').slice(1);
    assert.deepEqual(
      Array.from(forecast.values[0]!, formatFloat32),
      expected.map((line) => line.split(',')[1]),
    );
  });
});
