import { decodeImage } from '../../io/codec.js';
import type { SamPrompt } from '../../models/openVocabularySegmentation.js';
import { loadModel } from '../../models/registry.js';
import { encodeCocoRle } from '../../ops/cocoRle.js';
import { defineWorker } from '../define.js';
import { drawMasks } from './draw.js';

export interface OpenVocabularySegmentationTask {
  /** encoded image bytes */
  image: Uint8Array;
  /** the request's prompt list: boxes [x1, y1, x2, y2], or one point [x, y] (checked on the HTTP side) */
  prompt: number[][];
  promptType: 'box' | 'point';
  visualize: boolean;
}

export interface OpenVocabularySegmentationResult {
  masks: Array<{ rleResult: string; size: [number, number] }>;
  maskInfos: Array<{ label: string; prompt: number[] }>;
  /** JPEG, when visualizing */
  image?: Uint8Array;
}

const worker = defineWorker(async (config, rt) => {
  // PaddleX loads both models at startup and picks one per request by promptType
  const boxModel = await loadModel(config, 'BoxPromptSegmentation', 'open_vocabulary_segmentation', rt);
  const pointModel = await loadModel(config, 'PointPromptSegmentation', 'open_vocabulary_segmentation', rt);
  return {
    async predict({ image, prompt, promptType, visualize }: OpenVocabularySegmentationTask): Promise<OpenVocabularySegmentationResult> {
      const img = await decodeImage(image, 'image');
      const samPrompt: SamPrompt =
        promptType === 'box' ? { kind: 'box', boxes: prompt } : { kind: 'point', point: [prompt[0]![0]!, prompt[0]![1]!] };
      const found = await (promptType === 'box' ? boxModel : pointModel).predict(img, samPrompt);
      const masks = found.map((m) => ({
        rleResult: encodeCocoRle(m.data, m.width, m.height),
        size: [m.height, m.width] as [number, number],
      }));
      // PaddleX's mask_infos: the prompt type's key ("box_prompt" / "point_prompt") and each prompt as sent
      const maskInfos = prompt.map((p) => ({ label: `${promptType}_prompt`, prompt: p }));
      return visualize ? { masks, maskInfos, image: await drawMasks(img, found, samPrompt) } : { masks, maskInfos };
    },
  };
});
export default worker;
