/**
 * PaddleX `multilingual_speech_recognition` (Whisper). PaddleX runs Whisper from dynamic-graph
 * weights (`inference.pdparams`), which no converter turns into a static program; here the model
 * dir holds PaddleX's `inference.yml` and `assets/` (mel_filters.npz, the tokenizer files) next to
 * two ONNX graphs of its `Whisper` layer's two halves: `inference.onnx` = `encoder(mel)`
 * (`mel` `[1, 80, 3000]` → `[1, 1500, n_state]`) and `inference_decoder.onnx` =
 * `decoder(tokens, audio_features)` (`tokens` int64 `[n, t]`, `audio_features` `[n, 1500, n_state]`
 * → `logits` `[n, t, n_vocab]`), run without a key/value cache (same logits, more compute).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { z } from 'zod';
import type { ResolvedSubModule } from '../config/models.js';
import { invalidInput } from '../errors.js';
import { readNpz } from '../io/npz.js';
import { logMelSpectrogram, N_FFT } from '../ops/logMel.js';
import type { RuntimeContext } from '../runtime/context.js';
import { ort } from '../runtime/session.js';
import { InferenceConfigReader } from './common.js';
import {
  type AudioFeatures,
  N_AUDIO_CTX,
  N_FRAMES,
  type Transcription,
  type TranscribeSettings,
  transcribe,
  type WhisperRunner,
} from './whisperDecoding.js';
import { LANGUAGES, WhisperTokenizer } from './whisperTokenizer.js';

export const DECODER_FILE = 'inference_decoder.onnx';
const N_MELS = 80;
/** `is_multilingual` in PaddleX: the multilingual vocabulary's size (English-only models have 51864) */
const MULTILINGUAL_VOCAB = 51865;

/** PaddleX writes Python's None into inference.yml as the string "None"; both mean "not set". */
const none = z.union([z.null(), z.literal('None')]).transform(() => undefined);
const optionalNumber = z.union([z.number(), none]).optional();

/** The decoding settings PaddleX's predictor reads from inference.yml (`self.config[...]`). */
const settingsSchema = z.object({
  task: z.enum(['transcribe', 'translate']).default('transcribe'),
  language: z.union([none, z.string()]).optional(),
  temperature: z.number().min(0),
  temperature_increment_on_fallback: optionalNumber,
  compression_ratio_threshold: optionalNumber,
  logprob_threshold: optionalNumber,
  no_speech_threshold: optionalNumber,
  condition_on_previous_text: z.boolean(),
  initial_prompt: z.union([none, z.string()]).optional(),
  best_of: z.union([z.number().int().positive(), none]).optional(),
  beam_size: z.union([z.number().int().positive(), none]).optional(),
  patience: optionalNumber,
  length_penalty: optionalNumber,
});

/** PaddleX's language names and aliases map to codes (`TO_LANGUAGE_CODE`); only the codes are accepted here. */
function languageCode(language: string | undefined, yml: InferenceConfigReader): string | undefined {
  if (language === undefined) return undefined;
  const code = language.toLowerCase();
  if (!(LANGUAGES as readonly string[]).includes(code))
    throw yml.error('language', `unsupported language ${JSON.stringify(language)} (give a code such as en, zh, de)`);
  return code;
}

/** `np.arange(temperature, 1.0 + 1e-6, increment)`, or the one temperature without fallback. */
function temperatures(start: number, increment: number | undefined): number[] {
  if (increment === undefined) return [start];
  const count = Math.ceil((1.0 + 1e-6 - start) / increment);
  return Array.from({ length: count }, (_, i) => start + i * increment);
}

class OnnxWhisper implements WhisperRunner {
  constructor(
    private readonly encoder: InferenceSession,
    private readonly decoder: InferenceSession,
    private readonly where: string,
  ) {}

  async encode(mel: Float32Array): Promise<AudioFeatures> {
    const feeds = { [this.encoder.inputNames[0]!]: new ort.Tensor('float32', mel, [1, N_MELS, N_FRAMES]) };
    const output = (await this.encoder.run(feeds))[this.encoder.outputNames[0]!]!;
    if (output.dims.length !== 3 || output.dims[0] !== 1 || output.dims[1] !== N_AUDIO_CTX) {
      throw new Error(`${this.where}: the encoder gave [${output.dims.join(', ')}], expected [1, ${N_AUDIO_CTX}, n_state]`);
    }
    return { data: output.data as Float32Array, dims: output.dims };
  }

  async decode(tokens: number[][], features: AudioFeatures): Promise<{ logits: Float32Array; vocab: number }> {
    const rows = tokens.length;
    const length = tokens[0]!.length;
    const ids = BigInt64Array.from(tokens.flat(), (t) => BigInt(t));
    const repeated = new Float32Array(features.data.length * rows);
    for (let r = 0; r < rows; r++) repeated.set(features.data, r * features.data.length);
    const [tokensName, featuresName] = this.decoder.inputNames;
    const output = (
      await this.decoder.run({
        [tokensName!]: new ort.Tensor('int64', ids, [rows, length]),
        [featuresName!]: new ort.Tensor('float32', repeated, [rows, features.dims[1]!, features.dims[2]!]),
      })
    )[this.decoder.outputNames[0]!]!;
    if (output.dims.length !== 3 || output.dims[0] !== rows || output.dims[1] !== length) {
      throw new Error(`${this.where}: the decoder gave [${output.dims.join(', ')}], expected [${rows}, ${length}, n_vocab]`);
    }
    const vocab = Number(output.dims[2]);
    // PaddleX's Whisper models are all multilingual; the English-only layout has no language tokens
    if (vocab !== MULTILINGUAL_VOCAB)
      throw new Error(`${this.where}: the decoder's vocabulary has ${vocab} tokens; multilingual Whisper has ${MULTILINGUAL_VOCAB}`);
    return { logits: output.data as Float32Array, vocab };
  }
}

export class SpeechRecognizer {
  private constructor(
    private readonly runner: OnnxWhisper,
    private readonly tokenizer: WhisperTokenizer,
    private readonly melFilters: Float32Array,
    private readonly settings: TranscribeSettings,
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<SpeechRecognizer> {
    const yml = new InferenceConfigReader(sub, keyPath);
    const raw = yml.parse(settingsSchema, yml.config, 'settings');
    const dir = path.dirname(sub.resolved.onnxPath);
    const need = (file: string, what: string) => {
      const full = path.join(dir, file);
      if (!existsSync(full)) throw new Error(`${yml.where}: ${file} is missing from ${dir} (${what})`);
      return full;
    };
    const decoderPath = need(DECODER_FILE, "the ONNX graph of Whisper's text decoder, next to inference.onnx, its audio encoder");
    const filters = readNpz(
      readFileSync(need('assets/mel_filters.npz', 'the mel filterbank PaddleX downloads with the model')),
      'mel_filters.npz',
    ).get(`mel_${N_MELS}`);
    if (!filters || filters.shape.join() !== `${N_MELS},201`)
      throw yml.error('assets/mel_filters.npz', `needs an array mel_${N_MELS} of shape [${N_MELS}, 201]`);
    need('assets/multilingual/vocab.json', "Whisper's multilingual tokenizer");
    const tokenizer = WhisperTokenizer.load(path.join(dir, 'assets', 'multilingual'));
    const encoder = await rt.loadSession(sub.resolved);
    const decoder = await rt.loadSession({ ...sub.resolved, onnxPath: decoderPath });
    const settings: TranscribeSettings = {
      task: raw.task,
      language: languageCode(raw.language, yml),
      temperatures: temperatures(raw.temperature, raw.temperature_increment_on_fallback),
      compressionRatioThreshold: raw.compression_ratio_threshold,
      logprobThreshold: raw.logprob_threshold,
      noSpeechThreshold: raw.no_speech_threshold,
      conditionOnPreviousText: raw.condition_on_previous_text,
      initialPrompt: raw.initial_prompt,
      bestOf: raw.best_of,
      beamSize: raw.beam_size,
      patience: raw.patience,
      lengthPenalty: raw.length_penalty,
    };
    if (tokenizer.timestampBegin + N_FRAMES / 2 + 1 !== MULTILINGUAL_VOCAB) {
      throw yml.error(
        'assets/multilingual',
        `the tokenizer's timestamps start at ${tokenizer.timestampBegin}; multilingual Whisper's start at ${MULTILINGUAL_VOCAB - N_FRAMES / 2 - 1}`,
      );
    }
    return new SpeechRecognizer(new OnnxWhisper(encoder, decoder, yml.where), tokenizer, filters.data, settings);
  }

  /** 16 kHz mono samples → text, language and segments. */
  predict(samples: Float32Array): Promise<Transcription> {
    // centred STFT frames reflect the audio around its ends, which needs more than half a frame
    if (samples.length <= N_FFT / 2)
      throw invalidInput(`audio: too short (${samples.length} samples at 16 kHz; more than ${N_FFT / 2} needed)`);
    return transcribe(this.runner, this.tokenizer, logMelSpectrogram(samples, this.melFilters, N_MELS), this.settings);
  }
}
