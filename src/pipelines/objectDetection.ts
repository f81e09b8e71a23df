import { z } from 'zod';
import { readParam } from '../config/pipelineConfig.js';
import { decodeImage } from '../io/codec.js';
import { ObjectDetector, type DetectionThreshold } from '../modules/objectDetection.js';
import { drawDetections } from '../vis/draw.js';
import { optional, requireSubModule, transferable, wantsVisualization, withImage } from './common.js';
import type { PipelineDefinition } from './types.js';

/** A number, or {classId: number} with integer class ids (JSON/YAML keys arrive as strings). */
const thresholdSchema = z.union([
  z.number(),
  z.record(z.string().regex(/^\d+$/, 'class ids must be integers >= 0'), z.number().min(0).max(1)),
]);

function toThreshold(value: z.infer<typeof thresholdSchema>): DetectionThreshold {
  if (typeof value === 'number') return value;
  // "007" and "7" name the same class.
  return Object.fromEntries(Object.entries(value).map(([classId, min]) => [Number(classId), min]));
}

const requestSchema = z.object({
  image: z.string(),
  threshold: optional(thresholdSchema),
  visualize: optional(z.boolean()),
});

export interface DetectionTask {
  /** encoded image bytes */
  image: Uint8Array;
  threshold?: DetectionThreshold | null;
  visualize: boolean;
}

export interface DetectedObjectResult {
  bbox: [number, number, number, number];
  categoryId: number;
  categoryName: string;
  score: number;
}

export interface DetectionTaskResult {
  detectedObjects: DetectedObjectResult[];
  /** JPEG, when visualizing */
  image?: Uint8Array;
}

/**
 * PaddleX's single-detector pipelines (object_detection, small_object_detection) differ only in names:
 * POST <path> → detectedObjects (+ annotated image).
 */
function detectionPipeline(pipelineName: string, role: string, path: string, summary: string): PipelineDefinition {
  const keyPath = `SubModules.${role}`;
  return {
    pipelineName,
    endpoints: [
      {
        path,
        operationId: 'infer',
        summary,
        request: requestSchema,
        inputField: 'image',
        async handle(req: z.infer<typeof requestSchema>, ctx) {
          const { bytes, transfer } = transferable(await ctx.loadInput(req.image, 'image'));
          const task: DetectionTask = {
            image: bytes,
            threshold: req.threshold == null ? null : toThreshold(req.threshold),
            visualize: wantsVisualization(req.visualize, ctx),
          };
          const { image, ...result } = await ctx.runTask<DetectionTaskResult>('predict', task, transfer);
          return withImage(result, image);
        },
      },
    ],

    async create(config, rt) {
      const sub = requireSubModule(config, role);
      // PaddleX: request threshold, else the sub-module's `threshold`, else draw_threshold of inference.yml.
      const yamlThreshold = readParam<z.infer<typeof thresholdSchema> | undefined>(sub, 'threshold', thresholdSchema, keyPath, undefined);
      const defaultThreshold = yamlThreshold === undefined ? undefined : toThreshold(yamlThreshold);
      const detector = await ObjectDetector.load(sub, rt, keyPath);
      return {
        ops: {
          async predict({ image, threshold, visualize }: DetectionTask): Promise<DetectionTaskResult> {
            const img = await decodeImage(image, 'image');
            const [objects] = await detector.predict([img], { threshold: threshold ?? defaultThreshold });
            const detectedObjects = objects!.map((o) => ({ bbox: o.coordinate, categoryId: o.clsId, categoryName: o.label, score: o.score }));
            return visualize ? { detectedObjects, image: await drawDetections(img, detectedObjects) } : { detectedObjects };
          },
        },
      };
    },
  };
}

export const objectDetectionPipeline = detectionPipeline('object_detection', 'ObjectDetection', '/object-detection', 'Detect objects in an image');

export const smallObjectDetectionPipeline = detectionPipeline(
  'small_object_detection',
  'SmallObjectDetection',
  '/small-object-detection',
  'Detect small objects in an image',
);
