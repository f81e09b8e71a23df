import { readAudio } from '../../io/audio.js';
import { loadModel } from '../../models/registry.js';
import { SAMPLE_RATE } from '../../ops/logMel.js';
import { defineWorker } from '../define.js';
import type { MediaFile } from '../shared/media.js';

export const ROLE = 'MultilingualSpeechRecognition';
/** Longer audio is refused: its samples and spectrogram are held in memory, and every 30 s is a decoder run. */
export const MAX_AUDIO_SECONDS = 1800;

const worker = defineWorker(async (config, rt) => {
  const recognizer = await loadModel(config, ROLE, 'multilingual_speech_recognition', rt);
  return {
    async predict({ bytes }: MediaFile) {
      const samples = await readAudio(bytes, SAMPLE_RATE, 'audio', { maxSeconds: MAX_AUDIO_SECONDS });
      return recognizer.predict(samples);
    },
  };
});
export default worker;
