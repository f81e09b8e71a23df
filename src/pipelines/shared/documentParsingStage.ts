/**
 * A document parsing stage another pipeline builds on (PP-DocTranslation's visual stage is
 * PP-StructureV3): pipeline folders do not import each other, so the registry hands the stage over.
 */
import type { PipelineConfig } from '../../config/pipelineConfig.js';
import type { EndpointSpec } from '../define.js';
import type { DocumentServingExtra } from './documentInput.js';

export interface DocumentParsingStage {
  /** the worker module that parses pages */
  worker: string;
  /** the stage's part of the config (e.g. `SubPipelines.LayoutParser`) without what it switches off; the worker gets this */
  activeConfig(config: PipelineConfig): PipelineConfig;
  /** the stage's endpoint under the host pipeline's path and operationId; its handler reads the config `activeConfig` made */
  endpoint(spec: { path: string; operationId: string; summary: string }): EndpointSpec<any, any, any, DocumentServingExtra>;
}
