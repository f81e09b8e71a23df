/**
 * multilingual_speech_recognition (Whisper) on a self-made fixture imitating PaddleX's whisper_*
 * models (test/helpers/whisperFixture.ts: PaddleX's inference.yml and assets/, the `Whisper`
 * layer's encoder and decoder as ONNX graphs of their I/O): a sentence spoken by Debian's espeak-ng
 * comes back as its text and one timed segment only when the pipeline hears sound in it (the
 * fixture decoder's answer is gated on the log-Mel features); silence gives nothing. The log-Mel
 * features are checked against NumPy computing Whisper's formula, beam search and greedy decoding
 * against a scripted decoder whose best path is not the greedy one.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readAudio } from '../src/io/audio.js';
import { readNpz } from '../src/io/npz.js';
import { SpeechRecognizer } from '../src/models/speechRecognition.js';
import { type AudioFeatures, compressionRatio, transcribe, type WhisperRunner } from '../src/models/whisperDecoding.js';
import { WhisperTokenizer } from '../src/models/whisperTokenizer.js';
import { logMelSpectrogram } from '../src/ops/logMel.js';
import { runCli } from './helpers/cli.js';
import { cpuRuntime, fixturePipelineYaml, fixtureSubModule, fixtureTempRoot } from './helpers/fixtures.js';
import { assertErrorEnvelope, postJson, type RunningServer, startServer } from './helpers/server.js';
import {
  EN,
  EOT,
  SENTENCE,
  SENTENCE_END_SECONDS,
  SOT,
  spokenSentenceWav,
  TIMESTAMP_BEGIN,
  TRANSCRIBE,
  VOCAB,
  type WhisperFixture,
  whisperSentenceFixture,
} from './helpers/whisperFixture.js';

const tempDir = () => mkdtemp(path.join(fixtureTempRoot(), 'speech-'));

/** A 16-bit PCM WAV of silence. */
function silentWav(seconds: number, rate = 16000): Buffer {
  const samples = Math.round(seconds * rate);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + samples * 2, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(samples * 2, 40);
  return Buffer.concat([header, Buffer.alloc(samples * 2)]);
}

let fixture: WhisperFixture;
let speechFile: string;

before(async () => {
  fixture = await whisperSentenceFixture();
  speechFile = spokenSentenceWav();
});

function expectSentence(result: any): void {
  const endTimestamp = TIMESTAMP_BEGIN + SENTENCE_END_SECONDS / 0.02;
  assert.equal(result.text, ` ${SENTENCE}`);
  assert.equal(result.language, 'en');
  assert.equal(result.segments.length, 1);
  const [segment] = result.segments;
  assert.deepEqual(Object.keys(segment), [
    'id',
    'seek',
    'start',
    'end',
    'text',
    'tokens',
    'temperature',
    'avgLogProb',
    'compressionRatio',
    'noSpeechProb',
  ]);
  assert.equal(segment.id, 0);
  assert.equal(segment.seek, 0);
  assert.equal(segment.start, 0);
  assert.equal(segment.end, (endTimestamp - TIMESTAMP_BEGIN) * 0.02);
  assert.equal(segment.text, ` ${SENTENCE}`);
  assert.deepEqual(segment.tokens, [TIMESTAMP_BEGIN, ...fixture.textTokens, endTimestamp]);
  assert.equal(segment.temperature, 0);
  assert.ok(segment.avgLogProb > -1e-3 && segment.avgLogProb <= 0, `avgLogProb ${segment.avgLogProb}`);
  assert.equal(segment.compressionRatio, compressionRatio(SENTENCE));
  assert.ok(segment.noSpeechProb >= 0 && segment.noSpeechProb < 1e-6, `noSpeechProb ${segment.noSpeechProb}`);
}

describe('Whisper log-Mel features', () => {
  test("match NumPy computing Whisper's formula on the same samples and filterbank", async () => {
    const samples = await readAudio(await readFile(speechFile), 16000, 'audio', { maxSeconds: 60 });
    const filters = readNpz(await readFile(path.join(fixture.dir, 'assets', 'mel_filters.npz')), 'mel').get('mel_80')!;
    const mel = logMelSpectrogram(samples, filters.data, 80);
    assert.equal(mel.frames, Math.floor(samples.length / 160));
    const dir = await tempDir();
    await writeFile(path.join(dir, 'samples.f32'), samples);
    await writeFile(path.join(dir, 'filters.f32'), filters.data);
    // Whisper's log_mel_spectrogram, written with NumPy: centred reflect-padded frames, periodic Hann, |rfft|², last frame dropped
    const script = `
import numpy as np, sys
x = np.fromfile(sys.argv[1] + '/samples.f32', dtype=np.float32).astype(np.float64)
f = np.fromfile(sys.argv[1] + '/filters.f32', dtype=np.float32).reshape(80, 201).astype(np.float64)
p = np.pad(x, 200, mode='reflect')
n = 1 + (len(p) - 400) // 160
w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)
frames = np.stack([p[i * 160:i * 160 + 400] * w for i in range(n)])
power = (np.abs(np.fft.rfft(frames, axis=1)) ** 2).T[:, :-1]
log = np.log10(np.maximum(f @ power, 1e-10))
log = np.maximum(log, log.max() - 8.0)
((log + 4.0) / 4.0).astype(np.float32).tofile(sys.argv[1] + '/mel.f32')
`;
    execFileSync('python3', ['-c', script, dir]);
    const expected = new Float32Array((await readFile(path.join(dir, 'mel.f32'))).buffer.slice(0));
    assert.equal(expected.length, mel.data.length);
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(expected[i]! - mel.data[i]!));
    assert.ok(worst < 1e-4, `largest difference ${worst}`);
  });

  test('audio is resampled to 16 kHz and keeps its duration', async () => {
    const samples = await readAudio(await readFile(speechFile), 16000, 'audio', { maxSeconds: 60 });
    // espeak-ng writes 41922 samples at 22.05 kHz: 1.901 s
    assert.ok(Math.abs(samples.length / 16000 - 41922 / 22050) < 0.002, `${samples.length} samples`);
  });
});

describe('Whisper tokenizer (BPE from the model dir)', () => {
  test('encodes into the vocabulary, decodes back, keeps the multilingual special-token layout', () => {
    const tokenizer = WhisperTokenizer.load(path.join(fixture.dir, 'assets', 'multilingual'));
    assert.deepEqual(tokenizer.encode(` ${SENTENCE}`), fixture.textTokens);
    assert.equal(tokenizer.decode(fixture.textTokens), ` ${SENTENCE}`);
    assert.equal(tokenizer.eot, EOT);
    assert.equal(tokenizer.sot, SOT);
    assert.equal(tokenizer.languageToken('en'), EN);
    assert.equal(tokenizer.transcribe, TRANSCRIBE);
    assert.equal(tokenizer.timestampBegin, TIMESTAMP_BEGIN);
    assert.deepEqual(tokenizer.encode('<|startoftranscript|><|en|>'), [SOT, EN]);
    // timestamps are dropped, bytes outside the text still decode (é = two byte tokens)
    assert.equal(tokenizer.decode([TIMESTAMP_BEGIN, ...tokenizer.encode(' café'), TIMESTAMP_BEGIN + 5]), ' café');
  });
});

/**
 * A decoder that follows a script: after the sot sequence `<|0.00|>`, then A (0.5), B (0.3), C, D, E
 * (0.1, 0.05, 0.05); A is followed by x or y (0.5 each), every other letter by one sure letter;
 * then `<|0.40|>` and the end. Greedy decoding takes "Ax" (p 0.25); beam search finds "Bz" (p 0.3).
 */
function scriptedRunner(tokenizer: WhisperTokenizer): WhisperRunner {
  const id = (letter: string) => tokenizer.encode(letter)[0]!;
  const end = TIMESTAMP_BEGIN + 20;
  const script = new Map<string, Array<[number, number]>>([
    [`${SOT}`, [[EN, 1]]],
    [`${SOT},${EN},${TRANSCRIBE}`, [[TIMESTAMP_BEGIN, 1]]],
    ...[
      [
        [TIMESTAMP_BEGIN],
        [
          ['A', 0.5],
          ['B', 0.3],
          ['C', 0.1],
          ['D', 0.05],
          ['E', 0.05],
        ],
      ],
    ].map(
      ([prefix, next]) =>
        [`${SOT},${EN},${TRANSCRIBE},${prefix}`, (next as Array<[string, number]>).map(([l, p]) => [id(l), p])] as [
          string,
          Array<[number, number]>,
        ],
    ),
  ]);
  const follow: Record<string, Array<[string, number]>> = {
    A: [
      ['x', 0.5],
      ['y', 0.5],
    ],
    B: [['z', 1]],
    C: [['w', 1]],
    D: [['v', 1]],
    E: [['u', 1]],
  };
  for (const [first, next] of Object.entries(follow)) {
    const prefix = `${SOT},${EN},${TRANSCRIBE},${TIMESTAMP_BEGIN},${id(first)}`;
    script.set(
      prefix,
      next.map(([l, p]) => [id(l), p]),
    );
    for (const [second] of next) {
      script.set(`${prefix},${id(second)}`, [[end, 1]]);
      script.set(`${prefix},${id(second)},${end}`, [[EOT, 1]]);
    }
  }
  return {
    encode: async () => ({ data: new Float32Array(1500), dims: [1, 1500, 1] }),
    decode: async (rows: number[][], _features: AudioFeatures) => {
      const length = rows[0]!.length;
      const logits = new Float32Array(rows.length * length * VOCAB);
      rows.forEach((row, r) => {
        for (let t = 0; t < length; t++) {
          const next = script.get(row.slice(0, t + 1).join(','));
          const at = (r * length + t) * VOCAB;
          // unscripted prefixes: every token alike
          if (!next) continue;
          logits.fill(-1e9, at, at + VOCAB);
          for (const [token, p] of next) logits[at + token] = Math.log(p);
        }
      });
      return { logits, vocab: VOCAB };
    },
  };
}

describe('Whisper decoding (PaddleX transcribe)', () => {
  const mel = { data: new Float32Array(80 * 100), nMels: 80, frames: 100 };
  const base = {
    task: 'transcribe' as const,
    temperatures: [0],
    conditionOnPreviousText: true,
    logprobThreshold: -1,
    noSpeechThreshold: 0.6,
    compressionRatioThreshold: 2.4,
  };

  test('greedy decoding takes the locally best token; beam search (5 beams) the best sequence', async () => {
    const tokenizer = WhisperTokenizer.load(path.join(fixture.dir, 'assets', 'multilingual'));
    const runner = scriptedRunner(tokenizer);
    const greedy = await transcribe(runner, tokenizer, mel, base);
    assert.equal(greedy.text, 'Ax');
    assert.equal(greedy.language, 'en');
    const beam = await transcribe(runner, tokenizer, mel, { ...base, beamSize: 5, patience: 1 });
    assert.equal(beam.text, 'Bz');
    assert.equal(beam.segments.length, 1);
    assert.deepEqual(beam.segments[0]!.tokens, [TIMESTAMP_BEGIN, tokenizer.encode('B')[0], tokenizer.encode('z')[0], TIMESTAMP_BEGIN + 20]);
    assert.equal(beam.segments[0]!.end, 0.4);
    // sum of log-probabilities over (tokens + 1)
    assert.ok(Math.abs(beam.segments[0]!.avgLogProb - Math.log(0.3) / 5) < 1e-5, String(beam.segments[0]!.avgLogProb));
    const withLengthPenalty = await transcribe(runner, tokenizer, mel, { ...base, beamSize: 5, lengthPenalty: 0.5 });
    assert.equal(withLengthPenalty.text, 'Bz');
  });

  test("refuses PaddleX's invalid option combinations", async () => {
    const tokenizer = WhisperTokenizer.load(path.join(fixture.dir, 'assets', 'multilingual'));
    const runner = scriptedRunner(tokenizer);
    await assert.rejects(transcribe(runner, tokenizer, mel, { ...base, patience: 1 }), /patience requires beam_size/);
    await assert.rejects(transcribe(runner, tokenizer, mel, { ...base, beamSize: 5, lengthPenalty: 2 }), /length_penalty/);
  });
});

describe('SpeechRecognizer on the fixture model', () => {
  test('transcribes the spoken sentence; silence gives no segment', async () => {
    const sub = await fixtureSubModule('multilingual_speech_recognition', fixture.dir);
    const recognizer = await SpeechRecognizer.load(sub, cpuRuntime(), 'SubModules.MultilingualSpeechRecognition');
    expectSentence(await recognizer.predict(await readAudio(await readFile(speechFile), 16000, 'audio', { maxSeconds: 60 })));
    const silence = await recognizer.predict(await readAudio(silentWav(2), 16000, 'audio', { maxSeconds: 60 }));
    assert.deepEqual(silence, { text: '', segments: [], language: 'en' });
  });

  test('a model dir without the decoder graph is refused at load, naming the file', async () => {
    const dir = await tempDir();
    execFileSync('cp', ['-r', `${fixture.dir}/.`, dir]);
    execFileSync('rm', [path.join(dir, 'inference_decoder.onnx')]);
    const sub = await fixtureSubModule('multilingual_speech_recognition', dir);
    await assert.rejects(SpeechRecognizer.load(sub, cpuRuntime(), 'SubModules.X'), /inference_decoder\.onnx is missing/);
  });
});

describe('/multilingual-speech-recognition over HTTP', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ pipelines: [await fixturePipelineYaml('multilingual_speech_recognition', fixture.dir)] });
  });
  after(() => server?.close());

  test('WAV, MP3 and FLAC of the spoken sentence → its text, language and segment', async () => {
    const wav = await readFile(speechFile);
    const res = await postJson(`${server.url}/multilingual-speech-recognition`, { audio: wav.toString('base64') });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.errorCode, 0);
    expectSentence(res.body.result);
    for (const format of ['mp3', 'flac']) {
      const file = path.join(await tempDir(), `spoken.${format}`);
      execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', speechFile, file]);
      const encoded = await postJson(`${server.url}/multilingual-speech-recognition`, { audio: (await readFile(file)).toString('base64') });
      assert.equal(encoded.status, 200, JSON.stringify(encoded.body));
      assert.equal(encoded.body.result.text, ` ${SENTENCE}`, format);
    }
  });

  test('silence → empty text and no segments', async () => {
    const res = await postJson(`${server.url}/multilingual-speech-recognition`, { audio: silentWav(3).toString('base64') });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.result, { text: '', segments: [], language: 'en' });
  });

  test('file types that cannot be inferred and hostile audio → 422 envelopes', async () => {
    const post = (audio: string) => postJson(`${server.url}/multilingual-speech-recognition`, { audio });
    // PaddleX's two forms: a URL whose name has no audio extension, Base64 whose content is not recognised
    const noExtension = await post('http://127.0.0.1:9/recording');
    assert.match(assertErrorEnvelope(noExtension, 422), /^File extension cannot be inferred: audio: the URL's file name "recording"/);
    assert.match(
      assertErrorEnvelope(await post(Buffer.from('just some words, not audio').toString('base64')), 422),
      /^File extension cannot be inferred/,
    );
    // recognised, but an image
    const png = await readFile('/usr/lib/python3/dist-packages/skimage/data/camera.png');
    assert.match(assertErrorEnvelope(await post(png.toString('base64')), 422), /image\/png.*not an audio file/);
    // a WAV cut inside its header
    const wav = await readFile(speechFile);
    assert.match(
      assertErrorEnvelope(await post(wav.subarray(0, 30).toString('base64')), 422),
      /audio: the audio cannot be decoded|holds no samples/,
    );
    assert.match(assertErrorEnvelope(await post(silentWav(0.005).toString('base64')), 422), /too short/);
    assert.match(assertErrorEnvelope(await postJson(`${server.url}/multilingual-speech-recognition`, {}), 422), /audio/);
  });
});

test('--input transcribes a WAV file locally', async () => {
  const yaml = await fixturePipelineYaml('multilingual_speech_recognition', fixture.dir);
  const run = await runCli(['--pipeline', yaml, '--input', speechFile, '--workers', '1']);
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  assert.equal(result.input_path, speechFile);
  expectSentence(result);
});
