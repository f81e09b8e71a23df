/**
 * Audio files → mono samples at the rate a model needs. Decoding is `audio-decode` (WAV, MP3, FLAC,
 * Ogg Vorbis/Opus, ...), resampling `wave-resampler` (cubic with a low-pass filter).
 */
import decodeAudio from 'audio-decode';
import waveResampler from 'wave-resampler';
import { invalidInput } from '../errors.js';

export interface AudioLimits {
  /** longer audio is refused (decoded samples are held in memory, and the model's time grows with it) */
  maxSeconds: number;
}

/**
 * The file's first channel at `sampleRate`: PaddleX reads files with `soundfile` and keeps channel 0
 * (`audio[:, 0]`), without downmixing. PaddleX does not resample (its Whisper assumes 16 kHz input);
 * we resample any other rate, so a 22.05 kHz or 44.1 kHz file is heard at its true speed.
 */
export async function readAudio(bytes: Uint8Array, sampleRate: number, field: string, limits: AudioLimits): Promise<Float32Array> {
  let decoded: { channelData: Float32Array[]; sampleRate: number };
  try {
    decoded = await decodeAudio(bytes);
  } catch (err) {
    throw invalidInput(`${field}: the audio cannot be decoded (${(err as Error).message}); send WAV, MP3, FLAC, Ogg or Opus`);
  }
  const channel = decoded.channelData?.[0];
  if (!channel || channel.length === 0 || !(decoded.sampleRate > 0)) throw invalidInput(`${field}: the audio holds no samples`);
  const seconds = channel.length / decoded.sampleRate;
  if (seconds > limits.maxSeconds) {
    throw invalidInput(`${field}: the audio lasts ${seconds.toFixed(1)} s; at most ${limits.maxSeconds} s are accepted`);
  }
  if (decoded.sampleRate === sampleRate) return channel;
  return Float32Array.from(waveResampler.resample(channel, decoded.sampleRate, sampleRate, { method: 'cubic', LPF: true }));
}
