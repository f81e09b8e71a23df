import { z } from 'zod';
import { defineEndpoint, definePipeline, type OpsOf } from '../define.js';
import { loadMediaFile } from '../shared/media.js';
import { noServingExtra } from '../shared/schemas.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

const request = z.object({
  /** URL or Base64 of an audio file */
  audio: z.string(),
});

const segment = z.object({
  id: z.number().int(),
  /** the window's first mel frame (10 ms each) */
  seek: z.number().int(),
  /** seconds */
  start: z.number(),
  end: z.number(),
  text: z.string(),
  /** every token the window decoded to (timestamps included) */
  tokens: z.array(z.number().int()),
  temperature: z.number(),
  avgLogProb: z.number(),
  compressionRatio: z.number(),
  noSpeechProb: z.number(),
});

const result = z.object({
  text: z.string(),
  segments: z.array(segment),
  /** language code, detected when the model's inference.yml sets none */
  language: z.string(),
});

/** PaddleX `multilingual_speech_recognition`: POST /multilingual-speech-recognition {audio} → text, language, segments (Whisper). */
export const multilingualSpeechRecognitionPipeline = definePipeline<Ops, Record<string, unknown>>({
  pipelineName: 'multilingual_speech_recognition',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: noServingExtra,
  endpoints: [
    defineEndpoint<Ops>()({
      path: '/multilingual-speech-recognition',
      operationId: 'infer',
      summary: 'Transcribe speech (Whisper): text, detected language and timed segments',
      request,
      result,
      input: { kind: 'audio', field: 'audio' },
      handle: async (req, ctx) => ctx.run('predict', await loadMediaFile(ctx, req.audio, 'audio', 'audio')),
    }),
  ],
});
