import { z } from 'zod';
import { readParam } from '../../config/pipelineConfig.js';
import { type VideoLimits, withTempVideoFile } from '../../io/video.js';
import { loadModel } from '../../models/registry.js';
import { defineWorker } from '../define.js';
import type { MediaFile } from '../shared/media.js';

export const ROLE = 'VideoClassification';
/** A few sampled frames are decoded, but ffmpeg reads the whole file to count them. */
export const VIDEO_CLASSIFICATION_LIMITS: VideoLimits = { maxSeconds: 3600, maxFrames: 216_000, timeoutMs: 120_000 };

const worker = defineWorker(async (config, rt) => {
  const classifier = await loadModel(config, ROLE, 'video_classification', rt);
  // PaddleX: request topk, else the sub-module's `topk`, else Topk.topk of the model's inference.yml
  const yamlTopk = readParam<number | undefined>(
    config.SubModules![ROLE]!,
    'topk',
    z.number().int().gt(0),
    `SubModules.${ROLE}`,
    undefined,
  );
  return {
    async predict({ bytes, extension, topk }: MediaFile & { topk?: number | null }) {
      const categories = await withTempVideoFile(bytes, extension, (file) =>
        classifier.predict(file, VIDEO_CLASSIFICATION_LIMITS, topk ?? yamlTopk ?? classifier.defaultTopk),
      );
      return { categories };
    },
  };
});
export default worker;
