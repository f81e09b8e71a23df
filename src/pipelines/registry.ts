/**
 * Every pipeline this server can run, by the `pipeline_name` of its YAML: one line per pipeline.
 * Only descriptors are imported here (HTTP side); their worker modules load inside the workers.
 */
import { ConfigError } from '../errors.js';
import type { PipelineDescriptor } from './define.js';
import { anomalyDetectionPipeline } from './anomaly_detection/pipeline.js';
import { docPreprocessorPipeline } from './doc_preprocessor/pipeline.js';
import { imageClassificationPipeline } from './image_classification/pipeline.js';
import { imageMultilabelClassificationPipeline } from './image_multilabel_classification/pipeline.js';
import { instanceSegmentationPipeline } from './instance_segmentation/pipeline.js';
import { objectDetectionPipeline } from './object_detection/pipeline.js';
import { ocrPipeline } from './ocr/pipeline.js';
import { semanticSegmentationPipeline } from './semantic_segmentation/pipeline.js';
import { smallObjectDetectionPipeline } from './small_object_detection/pipeline.js';
import { tsAnomalyDetectionPipeline } from './ts_anomaly_detection/pipeline.js';
import { tsClassificationPipeline } from './ts_classification/pipeline.js';
import { tsForecastPipeline } from './ts_forecast/pipeline.js';
import { rotatedObjectDetectionPipeline } from './rotated_object_detection/pipeline.js';
import { pedestrianAttributeRecognitionPipeline } from './pedestrian_attribute_recognition/pipeline.js';
import { vehicleAttributeRecognitionPipeline } from './vehicle_attribute_recognition/pipeline.js';
import { humanKeypointDetectionPipeline } from './human_keypoint_detection/pipeline.js';
import { ppShiTuV2Pipeline } from './pp_shituv2/pipeline.js';
import { faceRecognitionPipeline } from './face_recognition/pipeline.js';
import { sealRecognitionPipeline } from './seal_recognition/pipeline.js';
import { tableRecognitionPipeline } from './table_recognition/pipeline.js';
import { tableRecognitionV2Pipeline } from './table_recognition_v2/pipeline.js';
import { formulaRecognitionPipeline } from './formula_recognition/pipeline.js';
import { multilingualSpeechRecognitionPipeline } from './multilingual_speech_recognition/pipeline.js';
import { videoClassificationPipeline } from './video_classification/pipeline.js';
import { videoDetectionPipeline } from './video_detection/pipeline.js';
import { openVocabularyDetectionPipeline } from './open_vocabulary_detection/pipeline.js';
import { openVocabularySegmentationPipeline } from './open_vocabulary_segmentation/pipeline.js';
import { bevDetectionPipeline } from './3d_bev_detection/pipeline.js';
import { ppChatOcrV3Pipeline } from './pp_chatocrv3_doc/pipeline.js';
import { ppChatOcrV4Pipeline } from './pp_chatocrv4_doc/pipeline.js';
import { layoutParsingPipeline, ppStructureV3Pipeline, ppStructureV3Stage } from './layout_parsing/pipeline.js';
import { ppDocTranslationPipeline } from './pp_doctranslation/pipeline.js';

export const PIPELINES: readonly PipelineDescriptor[] = [
  imageClassificationPipeline,
  objectDetectionPipeline,
  smallObjectDetectionPipeline,
  ocrPipeline,
  docPreprocessorPipeline,
  semanticSegmentationPipeline,
  anomalyDetectionPipeline,
  imageMultilabelClassificationPipeline,
  instanceSegmentationPipeline,
  tsForecastPipeline,
  tsAnomalyDetectionPipeline,
  tsClassificationPipeline,
  rotatedObjectDetectionPipeline,
  pedestrianAttributeRecognitionPipeline,
  vehicleAttributeRecognitionPipeline,
  humanKeypointDetectionPipeline,
  ppShiTuV2Pipeline,
  faceRecognitionPipeline,
  sealRecognitionPipeline,
  tableRecognitionPipeline,
  tableRecognitionV2Pipeline,
  formulaRecognitionPipeline,
  multilingualSpeechRecognitionPipeline,
  videoClassificationPipeline,
  videoDetectionPipeline,
  openVocabularyDetectionPipeline,
  openVocabularySegmentationPipeline,
  bevDetectionPipeline,
  ppChatOcrV3Pipeline,
  ppChatOcrV4Pipeline,
  layoutParsingPipeline,
  ppStructureV3Pipeline,
  // its visual stage is PP-StructureV3's (pipeline folders do not import each other)
  ppDocTranslationPipeline(ppStructureV3Stage),
];

export function pipelineDescriptor(pipelineName: string): PipelineDescriptor {
  const found = PIPELINES.find((p) => p.pipelineName === pipelineName);
  if (!found) {
    throw new ConfigError(
      `pipeline_name: "${pipelineName}" is not a pipeline this server implements (${PIPELINES.map((p) => p.pipelineName).join(', ')})`,
    );
  }
  return found;
}
