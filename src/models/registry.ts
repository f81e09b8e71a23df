/**
 * Model families by PaddleX `module_name`, and how a pipeline gets the model of one of its roles.
 *
 * PaddleX picks a model's implementation by model name (`Global.model_name` of the model dir's
 * inference.yml, else the YAML's `model_name`), not by `module_name`: some of its own YAMLs carry
 * wrong module names (PP-ShiTuV2.yaml calls its detector `text_detection`). So the pipeline says
 * which family a role needs, the model name must not contradict it, and `module_name` is only a hint
 * that is never trusted over the name.
 */
import type { ResolvedModel, ResolvedSubModule } from '../config/models.js';
import type { PipelineConfig } from '../config/pipelineConfig.js';
import { ConfigError } from '../errors.js';
import type { RuntimeContext } from '../runtime/context.js';
import { AnomalyDetector } from './anomalyDetection.js';
import { BevDetector } from './bevDetection.js';
import { DocOrientationClassifier } from './docOrientation.js';
import { ImageClassifier } from './imageClassification.js';
import { DocUnwarper } from './imageUnwarping.js';
import { InstanceSegmenter } from './instanceSegmentation.js';
import { KeypointDetector } from './keypointDetection.js';
import { LayoutDetector } from './layoutDetection.js';
import { MultiLabelClassifier } from './multilabelClassification.js';
import { faceFeatureFamily, ImageFeatureExtractor } from './imageFeature.js';
import { FormulaRecognizer } from './formulaRecognition.js';
import { ObjectDetector } from './objectDetection.js';
import { GroundingDinoDetector } from './openVocabularyDetection.js';
import { SamSegmenter } from './openVocabularySegmentation.js';
import { SemanticSegmenter } from './semanticSegmentation.js';
import { SpeechRecognizer } from './speechRecognition.js';
import { VideoClassifier } from './videoClassification.js';
import { VideoDetector } from './videoDetection.js';
import { TableStructureRecognizer } from './tableStructure.js';
import { sealTextDetectorFamily, TextDetector } from './textDetection.js';
import { TextlineOrientationClassifier } from './textlineOrientation.js';
import { TextRecognizer } from './textRecognition.js';
import { TimeSeriesAnomalyDetector } from './tsAnomalyDetection.js';
import { TimeSeriesClassifier } from './tsClassification.js';
import { TimeSeriesForecaster } from './tsForecasting.js';

/** A model family: loads one sub-module (checking its inference.yml) into a model object. */
interface ModelFamily<M> {
  load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<M>;
}

/** Every implemented family, keyed by PaddleX `module_name`. */
const FAMILIES = {
  text_detection: TextDetector,
  seal_text_detection: sealTextDetectorFamily,
  text_recognition: TextRecognizer,
  textline_orientation: TextlineOrientationClassifier,
  doc_text_orientation: DocOrientationClassifier,
  image_unwarping: DocUnwarper,
  image_classification: ImageClassifier,
  // PaddleX runs PP-LCNet_x1_0_table_cls with its image classification predictor
  table_classification: ImageClassifier,
  object_detection: ObjectDetector,
  // PaddleX runs the RT-DETR-L table cell detectors with its object detection predictor
  table_cells_detection: ObjectDetector,
  layout_detection: LayoutDetector,
  table_structure_recognition: TableStructureRecognizer,
  formula_recognition: FormulaRecognizer,
  semantic_segmentation: SemanticSegmenter,
  anomaly_detection: AnomalyDetector,
  image_multilabel_classification: MultiLabelClassifier,
  instance_segmentation: InstanceSegmenter,
  ts_forecast: TimeSeriesForecaster,
  ts_anomaly_detection: TimeSeriesAnomalyDetector,
  ts_classification: TimeSeriesClassifier,
  keypoint_detection: KeypointDetector,
  image_feature: ImageFeatureExtractor,
  face_feature: faceFeatureFamily,
  multilingual_speech_recognition: SpeechRecognizer,
  video_classification: VideoClassifier,
  video_detection: VideoDetector,
  open_vocabulary_detection: GroundingDinoDetector,
  open_vocabulary_segmentation: SamSegmenter,
  '3d_bev_detection': BevDetector,
} satisfies Record<string, ModelFamily<unknown>>;

export type FamilyName = keyof typeof FAMILIES;
export type ModelOf<F extends FamilyName> = Awaited<ReturnType<(typeof FAMILIES)[F]['load']>>;

/**
 * PaddleX model names → module, most specific first (the suffix rules win over family prefixes:
 * PP-LCNet_x1_0_doc_ori is an orientation model, not a plain classifier). Modules not implemented
 * here are listed too, so a model of the wrong kind gets a precise error.
 */
const NAME_RULES: Array<[RegExp, string]> = [
  [/^(AutoEncoder|DLinear|Nonstationary|PatchTST|TimesNet)_ad$/, 'ts_anomaly_detection'],
  [/^TimesNet_cls$/, 'ts_classification'],
  [/^whisper_/, 'multilingual_speech_recognition'],
  [/^PP-TSM/, 'video_classification'],
  [/^YOWO/, 'video_detection'],
  [/^(DLinear|NLinear|Nonstationary|PatchTST|RLinear|TiDE|TimesNet)$/, 'ts_forecast'],
  [/^PP-OCRv\d+_\w+_seal_det$/, 'seal_text_detection'],
  [/^PP-OCRv\d+_\w+_det$/, 'text_detection'],
  [/^(LaTeX_OCR_rec|UniMERNet|PP-FormulaNet)/, 'formula_recognition'],
  [/^PP-ShiTuV2_rec/, 'image_feature'],
  [/^(MobileFaceNet|ResNet50_face)/, 'face_feature'],
  [/(^|_)PP-OCRv\d+_\w+_rec(_doc)?$|^ch_(SVTRv2|RepSVTR)_rec$/, 'text_recognition'],
  [/(textline_ori|^ch_ppocr_mobile_v2[._]0_cls)$/, 'textline_orientation'],
  [/doc_ori$/, 'doc_text_orientation'],
  [/^UVDoc$/, 'image_unwarping'],
  [/_table_cls$/, 'table_classification'],
  [/_table_cell_det$/, 'table_cells_detection'],
  [/^(SLANet|SLANeXt)/, 'table_structure_recognition'],
  [/_pedestrian_attribute$/, 'pedestrian_attribute_recognition'],
  [/_vehicle_attribute$/, 'vehicle_attribute_recognition'],
  [/_ML$/, 'image_multilabel_classification'],
  [/^(PP-DocLayout|PP-DocBlockLayout)|_layout/, 'layout_detection'],
  [/^PP-TinyPose/, 'keypoint_detection'],
  [/^(GroundingDINO|YOLO-World)/, 'open_vocabulary_detection'],
  [/^SAM-/, 'open_vocabulary_segmentation'],
  [/^BEVFusion/, '3d_bev_detection'],
  [/^STFPM/, 'anomaly_detection'],
  [/^(PP-LiteSeg|PP-HumanSeg|Deeplabv3|OCRNet|SegFormer|SeaFormer|MaskFormer)/, 'semantic_segmentation'],
  [/^(Mask-RT-DETR|Cascade-MaskRCNN|MaskRCNN|SOLOv2|PP-YOLOE_seg)/, 'instance_segmentation'],
  [/^(PicoDet|PP-YOLOE|RT-DETR|YOLOv3|YOLOX|FCOS|Cascade-|Faster-|DETR|DINO|CenterNet|BlazeFace|PP-ShiTuV2_det)/, 'object_detection'],
  [/^(PP-LCNet|PP-HGNet|ResNet|MobileNet|ConvNeXt|SwinTransformer|CLIP|FasterNet|StarNet)/, 'image_classification'],
];

/** Modules whose models are also plain models of another family (orientation classifiers are PaddleClas classifiers). */
const SERVES_AS: Record<string, string[]> = {
  textline_orientation: ['image_classification'],
  doc_text_orientation: ['image_classification'],
  table_classification: ['image_classification'],
  table_cells_detection: ['object_detection'],
  // PaddleX runs layout models with its object detection predictor (plus the layout extras)
  layout_detection: ['object_detection'],
  // PaddleX runs attribute models with its multi-label classification predictor
  pedestrian_attribute_recognition: ['image_multilabel_classification'],
  vehicle_attribute_recognition: ['image_multilabel_classification'],
};

/** The module PaddleX would run a model name with, when the name is one of its known kinds. */
export function moduleOfModelName(modelName: string): string | undefined {
  return NAME_RULES.find(([pattern]) => pattern.test(modelName))?.[1];
}

/** The name PaddleX picks the implementation by: `Global.model_name` of inference.yml, else the YAML's `model_name`. */
function effectiveModelName(model: ResolvedModel): string {
  const fromYml: unknown = model.inferenceConfig?.Global?.model_name;
  return typeof fromYml === 'string' && fromYml ? fromYml : model.modelName;
}

function resolvedSub(config: PipelineConfig | undefined, role: string): ResolvedSubModule | undefined {
  const sub = config?.SubModules?.[role] as ResolvedSubModule | undefined;
  // Models are resolved on the main thread before workers start; an unresolved one here is a bug.
  if (sub && !sub.resolved) throw new Error(`SubModules.${role}: model ${sub.model_name} was not resolved before the pipeline was created`);
  return sub;
}

/**
 * Loads `SubModules.<role>` of `config` (or undefined when the config leaves the role out) as a
 * `family` model. `keyPrefix` is the config's own key path, e.g. `SubPipelines.DocPreprocessor`.
 */
export async function loadOptionalModel<F extends FamilyName>(
  config: PipelineConfig | undefined,
  role: string,
  family: F,
  rt: RuntimeContext,
  keyPrefix = '',
): Promise<ModelOf<F> | undefined> {
  const sub = resolvedSub(config, role);
  if (!sub) return undefined;
  const keyPath = `${keyPrefix ? `${keyPrefix}.` : ''}SubModules.${role}`;
  const modelName = effectiveModelName(sub.resolved);
  const named = moduleOfModelName(modelName);
  if (named && named !== family && !SERVES_AS[named]?.includes(family)) {
    throw new ConfigError(
      `${keyPath}: model ${modelName} is a ${named} model (PaddleX chooses the implementation by model name), ` +
        `but this role needs a ${family} model. Point model_name/model_dir at a ${family} model.`,
    );
  }
  return (await FAMILIES[family].load(sub, rt, keyPath)) as ModelOf<F>;
}

/** Like loadOptionalModel, for a role the pipeline cannot run without. */
export async function loadModel<F extends FamilyName>(
  config: PipelineConfig,
  role: string,
  family: F,
  rt: RuntimeContext,
  keyPrefix = '',
): Promise<ModelOf<F>> {
  const model = await loadOptionalModel(config, role, family, rt, keyPrefix);
  if (!model) {
    const keyPath = `${keyPrefix ? `${keyPrefix}.` : ''}SubModules.${role}`;
    throw new ConfigError(`${keyPath} is missing from the ${config.pipeline_name} pipeline config (it needs a ${family} model)`);
  }
  return model;
}
