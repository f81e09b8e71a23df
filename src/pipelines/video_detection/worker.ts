import { z } from 'zod';
import { readParam } from '../../config/pipelineConfig.js';
import { type VideoLimits, withTempVideoFile } from '../../io/video.js';
import { loadModel } from '../../models/registry.js';
import { defineWorker } from '../define.js';
import type { MediaFile } from '../shared/media.js';

export const ROLE = 'VideoDetection';
/** Every frame is a model run: longer videos are refused. */
export const VIDEO_DETECTION_LIMITS: VideoLimits = { maxSeconds: 600, maxFrames: 1800, timeoutMs: 300_000 };

export interface VideoDetectionTask extends MediaFile {
  nmsThresh?: number | null;
  scoreThresh?: number | null;
}

const worker = defineWorker(async (config, rt) => {
  const detector = await loadModel(config, ROLE, 'video_detection', rt);
  const sub = config.SubModules![ROLE]!;
  const keyPath = `SubModules.${ROLE}`;
  // the sub-module's nms_thresh / score_thresh, else DetVideoPostProcess's in the model's inference.yml
  const yamlNms = readParam<number | undefined>(sub, 'nms_thresh', z.number(), keyPath, undefined);
  const yamlScore = readParam<number | undefined>(sub, 'score_thresh', z.number(), keyPath, undefined);
  return {
    async predict({ bytes, extension, nmsThresh, scoreThresh }: VideoDetectionTask) {
      // PaddleX picks with `or`: a request value of 0 falls back to the configured one
      const thresholds = {
        nmsThresh: nmsThresh || yamlNms || detector.defaults.nmsThresh,
        scoreThresh: scoreThresh || yamlScore || detector.defaults.scoreThresh,
      };
      const frames = await withTempVideoFile(bytes, extension, (file) => detector.predict(file, VIDEO_DETECTION_LIMITS, thresholds));
      return { frames: frames.map((detectedObjects, index) => ({ index, detectedObjects })) };
    },
  };
});
export default worker;
