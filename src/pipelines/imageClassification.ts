import { z } from 'zod';
import { readParam } from '../config/pipelineConfig.js';
import { decodeImage } from '../io/codec.js';
import { ImageClassifier } from '../modules/imageClassification.js';
import { drawClassification } from '../vis/draw.js';
import { optional, requireSubModule, transferable, wantsVisualization, withImage } from './common.js';
import type { PipelineDefinition } from './types.js';

const ROLE = 'ImageClassification';
const KEY_PATH = `SubModules.${ROLE}`;

const topkSchema = z.number().int().gt(0);

const requestSchema = z.object({
  image: z.string(),
  topk: optional(topkSchema),
  visualize: optional(z.boolean()),
});

export interface ClassificationTask {
  /** encoded image bytes */
  image: Uint8Array;
  topk?: number | null;
  visualize: boolean;
}

export interface ClassificationTaskResult {
  categories: Array<{ id: number; name: string; score: number }>;
  /** JPEG, when visualizing */
  image?: Uint8Array;
}

/** PaddleX `image_classification`: POST /image-classification → top-k categories (+ annotated image). */
export const imageClassificationPipeline: PipelineDefinition = {
  pipelineName: 'image_classification',
  endpoints: [
    {
      path: '/image-classification',
      operationId: 'infer',
      summary: 'Classify an image (top-k ImageNet-style categories)',
      request: requestSchema,
      inputField: 'image',
      async handle(req: z.infer<typeof requestSchema>, ctx) {
        const { bytes, transfer } = transferable(await ctx.loadInput(req.image, 'image'));
        const task: ClassificationTask = { image: bytes, topk: req.topk, visualize: wantsVisualization(req.visualize, ctx) };
        const { image, ...result } = await ctx.runTask<ClassificationTaskResult>('predict', task, transfer);
        return withImage(result, image);
      },
    },
  ],

  async create(config, rt) {
    const sub = requireSubModule(config, ROLE);
    // PaddleX: request topk, else the sub-module's `topk`, else Topk.topk of the model's inference.yml.
    const yamlTopk = readParam<number | undefined>(sub, 'topk', topkSchema, KEY_PATH, undefined);
    const classifier = await ImageClassifier.load(sub, rt, KEY_PATH);
    return {
      ops: {
        async predict({ image, topk, visualize }: ClassificationTask): Promise<ClassificationTaskResult> {
          const img = await decodeImage(image, 'image');
          const [result] = await classifier.predict([img], { topk: topk ?? yamlTopk ?? classifier.defaultTopk });
          const categories = result!.classIds.map((id, i) => ({ id, name: result!.labelNames[i]!, score: result!.scores[i]! }));
          return visualize ? { categories, image: await drawClassification(img, categories) } : { categories };
        },
      },
    };
  },
};
