/**
 * A Whisper model dir in the layout pipeserve reads (README, "Speech recognition"), imitating
 * PaddleX's whisper_* models: PaddleX's inference.yml settings and `assets/` (mel_filters.npz,
 * `multilingual/{vocab.json, merges.txt}`) with the multilingual id layout (50257 BPE tokens,
 * `<|endoftext|>` 50257, `<|startoftranscript|>` 50258, ..., timestamps from 50364, vocabulary
 * 51865), and the two halves of PaddleX's `Whisper` layer as ONNX graphs of its I/O:
 *
 * - `inference.onnx` (encoder): `mel` [1, 80, 3000] → `audio_features` [1, 1500, 80]: 2-frame average pooling.
 * - `inference_decoder.onnx`: `tokens` int64 [n, t], `audio_features` [n, 1500, 80] → `logits` [n, t, 51865].
 *   Each position's logits are 30 on one token, 0 elsewhere: the token that follows it in a chain
 *   (`<|startoftranscript|>` → `<|en|>`, `<|transcribe|>` → `<|0.00|>` → the sentence's tokens →
 *   `<|end|>` → `<|endoftext|>`) when the audio features hold sound (their maximum above 0.5, i.e. a
 *   log-Mel peak above 10⁻² power; padding past the audio is 0), else the no-speech chain
 *   (`<|startoftranscript|>` → `<|nospeech|>`).
 *
 * The sentence's answer thus comes out only through the real pipeline: audio decoding, resampling,
 * log-Mel features, language detection, decoding with the logit filters and timestamp rules, segments.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { zipSync } from 'fflate';
import YAML from 'yaml';
import { buildModel, int64Tensor, floatTensor, node, valueInfo } from './onnxBuilder.js';
import { fixtureTempRoot } from './fixtures.js';

export const VOCAB = 51865;
export const EOT = 50257;
export const SOT = 50258;
export const EN = 50259;
export const TRANSCRIBE = 50359;
export const NO_SPEECH = 50362;
export const TIMESTAMP_BEGIN = 50364;
const BPE_TOKENS = 50257;

/** GPT-2's byte → printable character table. */
function byteChars(): string[] {
  const direct = new Set<number>();
  for (const [from, to] of [
    [0x21, 0x7e],
    [0xa1, 0xac],
    [0xae, 0xff],
  ]) {
    for (let b = from!; b <= to!; b++) direct.add(b);
  }
  let extra = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(direct.has(b) ? b : 256 + extra++));
}

/**
 * vocab.json and merges.txt whose BPE makes one token of each of `pieces` (GPT-2 pre-tokenised
 * pieces such as " Hello"), padded with filler tokens to the 50257 BPE tokens of Whisper's vocabulary.
 */
function tokenizerFiles(pieces: string[]): { vocab: Record<string, number>; merges: string[]; ids: number[] } {
  const chars = byteChars();
  const vocab: Record<string, number> = {};
  chars.forEach((c, i) => {
    vocab[c] = i;
  });
  const merges: string[] = [];
  const ids = pieces.map((piece) => {
    const symbols = Array.from(Buffer.from(piece, 'utf8'), (b) => chars[b]!);
    let merged = symbols[0]!;
    for (const symbol of symbols.slice(1)) {
      const merge = `${merged} ${symbol}`;
      if (!merges.includes(merge)) merges.push(merge);
      merged += symbol;
      vocab[merged] ??= Object.keys(vocab).length;
    }
    return vocab[merged]!;
  });
  for (let filler = Object.keys(vocab).length; filler < BPE_TOKENS; filler++) vocab[`<filler${filler}>`] = filler;
  vocab['<|endoftext|>'] = EOT;
  return { vocab, merges, ids };
}

/** librosa.filters.mel(sr=16000, n_fft=400, n_mels=80) (Slaney scale and norm), as Whisper ships it. */
function slaneyMelFilters(): Float32Array {
  const sr = 16000;
  const nFft = 400;
  const nMels = 80;
  const bins = nFft / 2 + 1;
  const fMin = 0;
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = (minLogHz - fMin) / fSp;
  const logStep = Math.log(6.4) / 27;
  const hzToMel = (f: number) => (f >= minLogHz ? minLogMel + Math.log(f / minLogHz) / logStep : (f - fMin) / fSp);
  const melToHz = (m: number) => (m >= minLogMel ? minLogHz * Math.exp(logStep * (m - minLogMel)) : fMin + fSp * m);
  const maxMel = hzToMel(sr / 2);
  const melPoints = Array.from({ length: nMels + 2 }, (_, i) => melToHz((maxMel * i) / (nMels + 1)));
  const fftFreqs = Array.from({ length: bins }, (_, k) => (k * sr) / nFft);
  const weights = new Float32Array(nMels * bins);
  for (let m = 0; m < nMels; m++) {
    const [lower, centre, upper] = [melPoints[m]!, melPoints[m + 1]!, melPoints[m + 2]!];
    const enorm = 2 / (upper - lower);
    for (let k = 0; k < bins; k++) {
      const rising = (fftFreqs[k]! - lower) / (centre - lower);
      const falling = (upper - fftFreqs[k]!) / (upper - centre);
      weights[m * bins + k] = Math.max(0, Math.min(rising, falling)) * enorm;
    }
  }
  return weights;
}

/** `np.savez_compressed(file, mel_80=filters)` */
function melFiltersNpz(filters: Float32Array): Uint8Array {
  const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (80, 201), }`;
  const padded = header.padEnd(Math.ceil((10 + header.length + 1) / 64) * 64 - 10 - 1, ' ') + '\n';
  const npy = new Uint8Array(10 + padded.length + filters.byteLength);
  npy.set(Buffer.from('\x93NUMPY\x01\x00', 'latin1'), 0);
  new DataView(npy.buffer).setUint16(8, padded.length, true);
  npy.set(Buffer.from(padded, 'latin1'), 10);
  npy.set(new Uint8Array(filters.buffer, filters.byteOffset, filters.byteLength), 10 + padded.length);
  return zipSync({ 'mel_80.npy': npy });
}

const encoder = () =>
  buildModel({
    inputs: [valueInfo('mel', [1, 80, 3000])],
    outputs: [valueInfo('audio_features', [1, 1500, 80])],
    nodes: [
      node('AveragePool', ['mel'], ['pooled'], { kernel_shape: { ints: [2] }, strides: { ints: [2] } }),
      node('Transpose', ['pooled'], ['audio_features'], { perm: { ints: [0, 2, 1] } }),
    ],
  });

/** `next[token]`: the token each one leads to (EOT for every token outside the chain). */
function chainTable(chain: number[]): number[] {
  const next = new Array<number>(VOCAB).fill(EOT);
  for (let i = 0; i + 1 < chain.length; i++) next[chain[i]!] = chain[i + 1]!;
  return next;
}

function decoder(speechChain: number[], silenceChain: number[]) {
  const oneHot = (table: string, out: string) => [
    node('Gather', [table, 'tokens'], [`${out}_ids`]),
    node('OneHot', [`${out}_ids`, 'depth', 'on_off'], [out]),
  ];
  return buildModel({
    inputs: [valueInfo('tokens', ['n', 't'], 'int64'), valueInfo('audio_features', ['n', 1500, 80])],
    outputs: [valueInfo('logits', ['n', 't', VOCAB])],
    initializers: [
      int64Tensor('speech_next', [VOCAB], chainTable(speechChain)),
      int64Tensor('silence_next', [VOCAB], chainTable(silenceChain)),
      int64Tensor('depth', [], [VOCAB]),
      floatTensor('on_off', [2], [0, 30]),
      floatTensor('threshold', [], [0.5]),
      floatTensor('sharpness', [], [20]),
      floatTensor('one', [], [1]),
    ],
    nodes: [
      node('ReduceMax', ['audio_features'], ['peak'], { axes: { ints: [1, 2] }, keepdims: { i: 1 } }),
      node('Sub', ['peak', 'threshold'], ['peak_above']),
      node('Mul', ['peak_above', 'sharpness'], ['peak_scaled']),
      node('Sigmoid', ['peak_scaled'], ['speech']),
      node('Sub', ['one', 'speech'], ['silence']),
      ...oneHot('speech_next', 'speech_logits'),
      ...oneHot('silence_next', 'silence_logits'),
      node('Mul', ['speech_logits', 'speech'], ['speech_part']),
      node('Mul', ['silence_logits', 'silence'], ['silence_part']),
      node('Add', ['speech_part', 'silence_part'], ['logits']),
    ],
  });
}

/**
 * The decoding settings PaddleX's predictor reads from inference.yml, with Whisper's values, except
 * greedy decoding at T = 0 (`beam_size: None`): a beam keeps four junk hypotheses beside the chain,
 * and with a one-hot fixture they never end, so each of up to 224 steps would run five rows.
 * Beam search has its own test on a scripted decoder (whisperDecoding tests).
 */
export const WHISPER_SETTINGS = {
  task: 'transcribe',
  language: 'None',
  verbose: true,
  temperature: 0.0,
  temperature_increment_on_fallback: 0.2,
  best_of: 5,
  beam_size: 'None',
  patience: 'None',
  length_penalty: 'None',
  initial_prompt: 'None',
  condition_on_previous_text: true,
  compression_ratio_threshold: 2.4,
  logprob_threshold: -1.0,
  no_speech_threshold: 0.6,
};

export interface WhisperFixture {
  dir: string;
  /** the sentence's token ids, as the fixture's vocabulary numbers them */
  textTokens: number[];
  /** the timestamp token the sentence ends with */
  endTimestamp: number;
}

/**
 * Builds the fixture for a sentence given as GPT-2 pieces (each becomes one token, so they must be
 * distinct), ending at `endSeconds` (a multiple of 0.02).
 */
export async function whisperFixtureDir(
  pieces: string[],
  endSeconds: number,
  settings: Record<string, unknown> = {},
): Promise<WhisperFixture> {
  const dir = await mkdtemp(path.join(fixtureTempRoot(), 'whisper_tiny-'));
  const { vocab, merges, ids } = tokenizerFiles(pieces);
  const endTimestamp = TIMESTAMP_BEGIN + Math.round(endSeconds / 0.02);
  const speechChain = [SOT, EN, TRANSCRIBE, TIMESTAMP_BEGIN, ...ids, endTimestamp, EOT];
  await mkdir(path.join(dir, 'assets', 'multilingual'), { recursive: true });
  await writeFile(path.join(dir, 'assets', 'multilingual', 'vocab.json'), JSON.stringify(vocab));
  await writeFile(path.join(dir, 'assets', 'multilingual', 'merges.txt'), `#version: 0.2\n${merges.join('\n')}\n`);
  await writeFile(path.join(dir, 'assets', 'mel_filters.npz'), melFiltersNpz(slaneyMelFilters()));
  await writeFile(path.join(dir, 'inference.onnx'), encoder());
  await writeFile(path.join(dir, 'inference_decoder.onnx'), decoder(speechChain, [SOT, NO_SPEECH]));
  await writeFile(
    path.join(dir, 'inference.yml'),
    YAML.stringify({ Global: { model_name: 'whisper_tiny' }, ...WHISPER_SETTINGS, resource_path: 'assets', ...settings }),
  );
  return { dir, textTokens: ids, endTimestamp };
}

export const SENTENCE = 'Hello world, this is a test.';
/** GPT-2's pieces of the transcript as Whisper writes it (with a leading space) */
const SENTENCE_PIECES = [' Hello', ' world', ',', ' this', ' is', ' a', ' test', '.'];
export const SENTENCE_END_SECONDS = 1.9;

let sentenceFixture: Promise<WhisperFixture> | undefined;
/** The fixture that knows SENTENCE, built once per process. */
export function whisperSentenceFixture(): Promise<WhisperFixture> {
  sentenceFixture ??= whisperFixtureDir(SENTENCE_PIECES, SENTENCE_END_SECONDS);
  return sentenceFixture;
}

let spokenFile: string | undefined;
/** SENTENCE spoken by espeak-ng into a WAV file (22.05 kHz mono, 1.9 s), made once per process. */
export function spokenSentenceWav(): string {
  if (!spokenFile) {
    const file = path.join(mkdtempSync(path.join(fixtureTempRoot(), 'spoken-')), 'spoken.wav');
    execFileSync('espeak-ng', ['-v', 'en', '-w', file, SENTENCE]);
    spokenFile = file;
  }
  return spokenFile;
}
