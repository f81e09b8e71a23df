/**
 * Whisper's log-Mel spectrogram, as PaddleX computes it (`log_mel_spectrogram` in its
 * multilingual_speech_recognition processors): STFT of the 16 kHz samples with a periodic Hann
 * window of 400 samples, hop 160, centred frames (reflect padding of 200 on each side), power
 * |X|², the last frame dropped; the mel filterbank `[n_mels, 201]` applied; log10 of at least 1e-10;
 * everything below (max − 8) raised to it; then (x + 4) / 4.
 */
export const SAMPLE_RATE = 16_000;
export const N_FFT = 400;
export const HOP_LENGTH = 160;
const BINS = N_FFT / 2 + 1;

export interface LogMel {
  /** `[nMels, frames]`, row-major */
  data: Float32Array;
  nMels: number;
  frames: number;
}

/** numpy's 'reflect' padding index (the edge sample is not repeated). */
function reflect(i: number, length: number): number {
  if (i < 0) return -i;
  if (i >= length) return 2 * (length - 1) - i;
  return i;
}

/**
 * A direct DFT of the 400-sample frames: npm's FFTs need power-of-two sizes, and padding the frame
 * to 512 would change the bins Whisper was trained on.
 */
function powerSpectrogram(samples: Float32Array): { power: Float64Array; frames: number } {
  const frames = Math.floor(samples.length / HOP_LENGTH);
  const window = new Float64Array(N_FFT);
  for (let n = 0; n < N_FFT; n++) window[n] = Math.fround(0.5 - 0.5 * Math.cos((2 * Math.PI * n) / N_FFT));
  const cos = new Float64Array(BINS * N_FFT);
  const sin = new Float64Array(BINS * N_FFT);
  for (let k = 0; k < BINS; k++) {
    for (let n = 0; n < N_FFT; n++) {
      const angle = (2 * Math.PI * ((k * n) % N_FFT)) / N_FFT;
      cos[k * N_FFT + n] = Math.cos(angle);
      sin[k * N_FFT + n] = Math.sin(angle);
    }
  }
  const power = new Float64Array(BINS * frames);
  const frame = new Float64Array(N_FFT);
  const pad = N_FFT / 2;
  for (let t = 0; t < frames; t++) {
    const start = t * HOP_LENGTH - pad;
    for (let n = 0; n < N_FFT; n++) frame[n] = samples[reflect(start + n, samples.length)]! * window[n]!;
    for (let k = 0; k < BINS; k++) {
      let re = 0;
      let im = 0;
      const row = k * N_FFT;
      for (let n = 0; n < N_FFT; n++) {
        re += frame[n]! * cos[row + n]!;
        im -= frame[n]! * sin[row + n]!;
      }
      power[k * frames + t] = re * re + im * im;
    }
  }
  return { power, frames };
}

/** `filters` is `[nMels, 201]` row-major (librosa's mel filterbank for sr 16000, n_fft 400, as Whisper ships it). */
export function logMelSpectrogram(samples: Float32Array, filters: Float32Array, nMels: number): LogMel {
  if (filters.length !== nMels * BINS) throw new Error(`mel filterbank has ${filters.length} values, expected ${nMels}×${BINS}`);
  const { power, frames } = powerSpectrogram(samples);
  const logSpec = new Float64Array(nMels * frames);
  let max = Number.NEGATIVE_INFINITY;
  for (let m = 0; m < nMels; m++) {
    for (let t = 0; t < frames; t++) {
      let sum = 0;
      for (let k = 0; k < BINS; k++) sum += filters[m * BINS + k]! * power[k * frames + t]!;
      const value = Math.log10(Math.max(sum, 1e-10));
      logSpec[m * frames + t] = value;
      if (value > max) max = value;
    }
  }
  const data = new Float32Array(nMels * frames);
  for (let i = 0; i < data.length; i++) data[i] = (Math.max(logSpec[i]!, max - 8) + 4) / 4;
  return { data, nMels, frames };
}

/** Frames `[from, from + length)` of the spectrogram, zero-padded past its end (Whisper's `pad_or_trim`). */
export function melWindow(mel: LogMel, from: number, length: number): Float32Array {
  const out = new Float32Array(mel.nMels * length);
  const available = Math.max(0, Math.min(length, mel.frames - from));
  for (let m = 0; m < mel.nMels; m++) {
    out.set(mel.data.subarray(m * mel.frames + from, m * mel.frames + from + available), m * length);
  }
  return out;
}
