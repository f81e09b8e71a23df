/**
 * Whisper's decoding, step for step as PaddleX runs it (`transcribe`, `DecodingTask`, the greedy and
 * beam-search decoders and the logit filters of its multilingual_speech_recognition processors):
 * 30-second windows of the log-Mel spectrogram, language detection on the first, temperature
 * fallback on repetitive or improbable output, timestamp rules, segments cut at timestamp pairs,
 * silent windows skipped. The model is behind `WhisperRunner` (encoder and decoder sessions).
 */
import { deflateSync } from 'node:zlib';
import { HOP_LENGTH, type LogMel, melWindow, SAMPLE_RATE } from '../ops/logMel.js';
import type { WhisperTokenizer } from './whisperTokenizer.js';

export const N_FRAMES = 3000;
const CHUNK_LENGTH = 30;
/** the decoder context of every Whisper size */
export const N_TEXT_CTX = 448;
export const N_AUDIO_CTX = 1500;

export interface AudioFeatures {
  data: Float32Array;
  dims: readonly number[];
}

export interface WhisperRunner {
  /** mel `[n_mels, 3000]` → audio features `[1, 1500, n_state]` */
  encode(mel: Float32Array): Promise<AudioFeatures>;
  /** token rows of one length → logits `[rows, length, vocab]` */
  decode(tokens: number[][], features: AudioFeatures): Promise<{ logits: Float32Array; vocab: number }>;
}

export interface DecodeSettings {
  task: 'transcribe' | 'translate';
  bestOf?: number;
  beamSize?: number;
  patience?: number;
  lengthPenalty?: number;
}

export interface TranscribeSettings extends DecodeSettings {
  /** undefined: detected from the first 30 seconds */
  language?: string;
  temperatures: number[];
  compressionRatioThreshold?: number;
  logprobThreshold?: number;
  noSpeechThreshold?: number;
  conditionOnPreviousText: boolean;
  initialPrompt?: string;
}

export interface Segment {
  id: number;
  seek: number;
  start: number;
  end: number;
  text: string;
  tokens: number[];
  temperature: number;
  avgLogProb: number;
  compressionRatio: number;
  noSpeechProb: number;
}

export interface Transcription {
  text: string;
  segments: Segment[];
  language: string;
}

interface DecodingResult {
  tokens: number[];
  text: string;
  avgLogprob: number;
  noSpeechProb: number;
  temperature: number;
  compressionRatio: number;
}

/** Python's `len(text) / len(zlib.compress(text.encode("utf-8")))`. */
export function compressionRatio(text: string): number {
  return [...text].length / deflateSync(Buffer.from(text, 'utf8')).length;
}

function logSoftmax(row: Float64Array): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of row) if (v > max) max = v;
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  const logSum = max + Math.log(sum);
  return row.map((v) => Math.fround(v - logSum));
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

function sampleFrom(logits: Float64Array, temperature: number): number {
  const probs = logSoftmax(logits.map((v) => v / temperature)).map(Math.exp);
  let r = Math.random();
  for (let i = 0; i < probs.length; i++) {
    r -= probs[i]!;
    if (r <= 0) return i;
  }
  return argmax(probs);
}

interface TokenDecoder {
  /** appends each row's next token; true when decoding is complete */
  update(tokens: number[][], logits: Float64Array[], sumLogprobs: number[]): { tokens: number[][]; completed: boolean };
  /** the candidate sequences (full, ending with EOT) and their cumulative log probabilities */
  finalize(tokens: number[][], sumLogprobs: number[]): { sequences: number[][]; sumLogprobs: number[] };
}

class GreedyDecoder implements TokenDecoder {
  constructor(
    private readonly temperature: number,
    private readonly eot: number,
  ) {}

  update(tokens: number[][], logits: Float64Array[], sumLogprobs: number[]) {
    const next = tokens.map((row, k) => {
      const chosen = this.temperature === 0 ? argmax(logits[k]!) : sampleFrom(logits[k]!, this.temperature);
      if (row.at(-1) !== this.eot) sumLogprobs[k] = Math.fround(sumLogprobs[k]! + logSoftmax(logits[k]!)[chosen]!);
      return [...row, row.at(-1) === this.eot ? this.eot : chosen];
    });
    return { tokens: next, completed: next.every((row) => row.at(-1) === this.eot) };
  }

  finalize(tokens: number[][], sumLogprobs: number[]) {
    return { sequences: tokens.map((row) => [...row, this.eot]), sumLogprobs };
  }
}

class BeamSearchDecoder implements TokenDecoder {
  private readonly maxCandidates: number;
  private finished = new Map<string, { sequence: number[]; score: number }>();

  constructor(
    private readonly beamSize: number,
    private readonly eot: number,
    patience: number | undefined,
  ) {
    this.maxCandidates = Math.round(beamSize * (patience ?? 1));
    if (this.maxCandidates <= 0) throw new Error(`Invalid beam size (${beamSize}) or patience (${patience})`);
  }

  update(tokens: number[][], logits: Float64Array[], sumLogprobs: number[]) {
    // one audio: all rows are its beams
    const scores = new Map<string, { sequence: number[]; score: number }>();
    tokens.forEach((prefix, idx) => {
      const logprobs = logSoftmax(logits[idx]!);
      const top = Array.from(logprobs.keys())
        .sort((a, b) => logprobs[b]! - logprobs[a]! || a - b)
        .slice(0, this.beamSize + 1);
      for (const token of top) {
        const sequence = [...prefix, token];
        scores.set(sequence.join(','), { sequence, score: Math.fround(sumLogprobs[idx]! + logprobs[token]!) });
      }
    });
    const next: number[][] = [];
    const newlyFinished: Array<{ sequence: number[]; score: number }> = [];
    for (const candidate of [...scores.values()].sort((a, b) => b.score - a.score)) {
      if (candidate.sequence.at(-1) === this.eot) {
        newlyFinished.push(candidate);
      } else {
        sumLogprobs[next.length] = candidate.score;
        next.push(candidate.sequence);
        if (next.length === this.beamSize) break;
      }
    }
    for (const candidate of newlyFinished) {
      if (this.finished.size >= this.maxCandidates) break;
      this.finished.set(candidate.sequence.join(','), candidate);
    }
    return { tokens: next, completed: this.finished.size >= this.maxCandidates };
  }

  finalize(tokens: number[][], sumLogprobs: number[]) {
    if (this.finished.size < this.beamSize) {
      const order = Array.from(sumLogprobs.keys()).sort((a, b) => sumLogprobs[b]! - sumLogprobs[a]!);
      for (const j of order) {
        const sequence = [...tokens[j]!, this.eot];
        this.finished.set(sequence.join(','), { sequence, score: sumLogprobs[j]! });
        if (this.finished.size >= this.beamSize) break;
      }
    }
    const finished = [...this.finished.values()];
    return { sequences: finished.map((f) => f.sequence), sumLogprobs: finished.map((f) => f.score) };
  }
}

/** One 30-second window decoded at one temperature (PaddleX's `DecodingTask.run` for a batch of one). */
class DecodingTask {
  private readonly initialTokens: number[];
  private readonly sampleBegin: number;
  private readonly sotIndex: number;
  private readonly groupSize: number;
  private readonly decoder: TokenDecoder;
  private readonly suppressed: number[];
  private readonly blank: number[];
  private readonly maxInitialTimestampIndex = Math.round(1.0 / (CHUNK_LENGTH / N_AUDIO_CTX));

  constructor(
    private readonly runner: WhisperRunner,
    private readonly tokenizer: WhisperTokenizer,
    sotSequence: number[],
    private readonly temperature: number,
    private readonly settings: DecodeSettings,
    prompt: number[],
    nonSpeech: number[],
  ) {
    const { bestOf, beamSize, patience, lengthPenalty } = settings;
    if (beamSize !== undefined && bestOf !== undefined) throw new Error("beam_size and best_of can't be given together");
    if (temperature === 0 && bestOf !== undefined) throw new Error('best_of with greedy sampling (T=0) is not compatible');
    if (patience !== undefined && beamSize === undefined) throw new Error('patience requires beam_size to be given');
    if (lengthPenalty !== undefined && !(lengthPenalty >= 0 && lengthPenalty <= 1)) {
      throw new Error('length_penalty (alpha) should be a value between 0 and 1');
    }
    this.groupSize = beamSize ?? bestOf ?? 1;
    this.initialTokens = prompt.length ? [tokenizer.sotPrev, ...prompt.slice(-(N_TEXT_CTX / 2 - 1)), ...sotSequence] : [...sotSequence];
    this.sampleBegin = this.initialTokens.length;
    this.sotIndex = this.initialTokens.indexOf(tokenizer.sot);
    this.decoder =
      beamSize !== undefined ? new BeamSearchDecoder(beamSize, tokenizer.eot, patience) : new GreedyDecoder(temperature, tokenizer.eot);
    this.suppressed = [...new Set([...nonSpeech, tokenizer.sot, tokenizer.sotPrev, tokenizer.sotLm, tokenizer.noSpeech])].sort(
      (a, b) => a - b,
    );
    this.blank = [...tokenizer.encode(' '), tokenizer.eot];
  }

  /** SuppressBlank, SuppressTokens and ApplyTimestampRules, in PaddleX's order. */
  private filter(logits: Float64Array, tokens: number[]): void {
    const { tokenizer, sampleBegin } = this;
    const ts = tokenizer.timestampBegin;
    if (tokens.length === sampleBegin) for (const t of this.blank) logits[t] = Number.NEGATIVE_INFINITY;
    for (const t of this.suppressed) logits[t] = Number.NEGATIVE_INFINITY;
    logits[tokenizer.noTimestamps] = Number.NEGATIVE_INFINITY;
    const sampled = tokens.slice(sampleBegin);
    const lastWasTimestamp = sampled.length >= 1 && sampled.at(-1)! >= ts;
    const penultimateWasTimestamp = sampled.length < 2 || sampled.at(-2)! >= ts;
    if (lastWasTimestamp) {
      if (penultimateWasTimestamp) logits.fill(Number.NEGATIVE_INFINITY, ts);
      else logits.fill(Number.NEGATIVE_INFINITY, 0, tokenizer.eot);
    }
    if (tokens.length === sampleBegin) logits.fill(Number.NEGATIVE_INFINITY, ts + this.maxInitialTimestampIndex + 1);
    const logprobs = logSoftmax(logits);
    let timestampMass = 0;
    for (let i = ts; i < logprobs.length; i++) timestampMass += Math.exp(logprobs[i]!);
    let maxText = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < ts; i++) if (logprobs[i]! > maxText) maxText = logprobs[i]!;
    if (Math.log(timestampMass) > maxText) logits.fill(Number.NEGATIVE_INFINITY, 0, ts);
  }

  private rowOf(logits: Float32Array, vocab: number, length: number, row: number, position: number): Float64Array {
    const at = (row * length + position) * vocab;
    return Float64Array.from(logits.subarray(at, at + vocab));
  }

  async run(features: AudioFeatures): Promise<DecodingResult> {
    const { tokenizer, groupSize } = this;
    let tokens = Array.from({ length: groupSize }, () => [...this.initialTokens]);
    const sumLogprobs = new Array<number>(groupSize).fill(0);
    let noSpeechProb = Number.NaN;
    for (let i = 0; i < N_TEXT_CTX / 2; i++) {
      const { logits, vocab } = await this.runner.decode(tokens, features);
      const length = tokens[0]!.length;
      if (i === 0) {
        const atSot = logSoftmax(this.rowOf(logits, vocab, length, 0, this.sotIndex));
        noSpeechProb = Math.fround(Math.exp(atSot[tokenizer.noSpeech]!));
      }
      const last = tokens.map((row, k) => {
        const rowLogits = this.rowOf(logits, vocab, length, k, length - 1);
        this.filter(rowLogits, row);
        return rowLogits;
      });
      const updated = this.decoder.update(tokens, last, sumLogprobs);
      tokens = updated.tokens;
      if (updated.completed || tokens[0]!.length > N_TEXT_CTX) break;
    }
    const { sequences, sumLogprobs: scores } = this.decoder.finalize(tokens, sumLogprobs);
    const candidates = sequences.map((seq) => seq.slice(this.sampleBegin, seq.indexOf(tokenizer.eot, this.sampleBegin)));
    const penalty = (length: number) =>
      this.settings.lengthPenalty === undefined ? length : ((5 + length) / 6) ** this.settings.lengthPenalty;
    const selected = argmax(candidates.map((c, i) => scores[i]! / penalty(c.length)));
    const chosen = candidates[selected]!;
    const text = tokenizer.decode(chosen).trim();
    return {
      tokens: chosen,
      text,
      avgLogprob: scores[selected]! / (chosen.length + 1),
      noSpeechProb,
      temperature: this.temperature,
      compressionRatio: compressionRatio(text),
    };
  }
}

/** PaddleX's `detect_language`: the decoder's distribution after `<|startoftranscript|>`, over language tokens only. */
export async function detectLanguage(runner: WhisperRunner, tokenizer: WhisperTokenizer, features: AudioFeatures): Promise<string> {
  const { logits, vocab } = await runner.decode([[tokenizer.sot]], features);
  const languages = tokenizer.languageTokens;
  if (vocab <= languages.at(-1)!.id) throw new Error(`the decoder's vocabulary (${vocab}) has no language tokens`);
  const best = argmax(languages.map(({ id }) => logits[id]!));
  return languages[best]!.code;
}

/** PaddleX's `transcribe` on the log-Mel spectrogram of the whole audio. */
export async function transcribe(
  runner: WhisperRunner,
  tokenizer: WhisperTokenizer,
  mel: LogMel,
  settings: TranscribeSettings,
): Promise<Transcription> {
  const language = settings.language ?? (await detectLanguage(runner, tokenizer, await runner.encode(melWindow(mel, 0, N_FRAMES))));
  const sotSequence = [
    tokenizer.sot,
    tokenizer.languageToken(language),
    settings.task === 'transcribe' ? tokenizer.transcribe : tokenizer.translate,
  ];
  const nonSpeech = tokenizer.nonSpeechTokens();
  const inputStride = N_FRAMES / N_AUDIO_CTX;
  const timePrecision = (inputStride * HOP_LENGTH) / SAMPLE_RATE;
  const initialPrompt = settings.initialPrompt ? tokenizer.encode(` ${settings.initialPrompt.trim()}`) : [];
  const allTokens = [...initialPrompt];
  const segments: Segment[] = [];
  let promptResetSince = 0;
  let seek = 0;

  const decodeWithFallback = async (features: AudioFeatures): Promise<DecodingResult> => {
    let result: DecodingResult | undefined;
    for (const t of settings.temperatures) {
      // beam search only at T = 0, best-of-N sampling only above it
      const decodeSettings: DecodeSettings =
        t > 0 ? { ...settings, beamSize: undefined, patience: undefined } : { ...settings, bestOf: undefined };
      const task = new DecodingTask(runner, tokenizer, sotSequence, t, decodeSettings, allTokens.slice(promptResetSince), nonSpeech);
      result = await task.run(features);
      const tooRepetitive =
        settings.compressionRatioThreshold !== undefined && result.compressionRatio > settings.compressionRatioThreshold;
      const tooImprobable = settings.logprobThreshold !== undefined && result.avgLogprob < settings.logprobThreshold;
      if (!tooRepetitive && !tooImprobable) break;
    }
    return result!;
  };

  const addSegment = (start: number, end: number, textTokens: number[], result: DecodingResult) => {
    const text = tokenizer.decode(textTokens.filter((token) => token < tokenizer.eot));
    if (text.trim().length === 0) return;
    segments.push({
      id: segments.length,
      seek,
      start,
      end,
      text,
      tokens: result.tokens,
      temperature: result.temperature,
      avgLogProb: result.avgLogprob,
      compressionRatio: result.compressionRatio,
      noSpeechProb: result.noSpeechProb,
    });
  };

  while (seek < mel.frames) {
    const timestampOffset = (seek * HOP_LENGTH) / SAMPLE_RATE;
    const segmentDuration = (N_FRAMES * HOP_LENGTH) / SAMPLE_RATE;
    const result = await decodeWithFallback(await runner.encode(melWindow(mel, seek, N_FRAMES)));
    const tokens = result.tokens;
    if (settings.noSpeechThreshold !== undefined) {
      let skip = result.noSpeechProb > settings.noSpeechThreshold;
      // a confident decoding is kept despite the no-speech probability
      if (settings.logprobThreshold !== undefined && result.avgLogprob > settings.logprobThreshold) skip = false;
      if (skip) {
        seek += N_FRAMES;
        continue;
      }
    }
    const isTimestamp = tokens.map((token) => token >= tokenizer.timestampBegin);
    const sliceEnds = isTimestamp.flatMap((ts, i) => (i > 0 && ts && isTimestamp[i - 1] ? [i] : []));
    if (sliceEnds.length > 0) {
      let lastSlice = 0;
      for (const current of sliceEnds) {
        const sliced = tokens.slice(lastSlice, current);
        const startPosition = sliced[0]! - tokenizer.timestampBegin;
        const endPosition = sliced.at(-1)! - tokenizer.timestampBegin;
        addSegment(
          timestampOffset + startPosition * timePrecision,
          timestampOffset + endPosition * timePrecision,
          sliced.slice(1, -1),
          result,
        );
        lastSlice = current;
      }
      seek += (tokens[lastSlice - 1]! - tokenizer.timestampBegin) * inputStride;
      allTokens.push(...tokens.slice(0, lastSlice + 1));
    } else {
      let duration = segmentDuration;
      const timestamps = tokens.filter((_, i) => isTimestamp[i]);
      // a lone final timestamp marks where speech ends
      if (timestamps.length > 0 && timestamps.at(-1) !== tokenizer.timestampBegin) {
        duration = (timestamps.at(-1)! - tokenizer.timestampBegin) * timePrecision;
      }
      addSegment(timestampOffset, timestampOffset + duration, tokens, result);
      seek += N_FRAMES;
      allTokens.push(...tokens);
    }
    if (!settings.conditionOnPreviousText || result.temperature > 0.5) promptResetSince = allTokens.length;
  }
  return { text: tokenizer.decode(allTokens.slice(initialPrompt.length)), segments, language };
}
