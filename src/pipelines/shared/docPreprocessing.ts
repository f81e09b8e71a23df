/**
 * PaddleX's doc_preprocessor (page orientation, then unwarping) as a stage other pipelines nest:
 * the `/document-preprocessing` pipeline runs it on the top-level config, OCR on
 * `SubPipelines.DocPreprocessor`. HTTP side: which steps a request runs and whether their models are
 * loaded. The worker side is `docPreprocessingWorker.ts`.
 */
import { z } from 'zod';
import type { PipelineConfig } from '../../config/pipelineConfig.js';
import { unloadedModelRequested } from './request.js';

export const DOC_ORIENTATION = 'DocOrientationClassify';
export const DOC_UNWARPING = 'DocUnwarping';

/** The steps one request runs (PaddleX's `model_settings` of the doc_preprocessor result). */
export interface DocPreprocessingSteps {
  useDocOrientationClassify: boolean;
  useDocUnwarping: boolean;
}

/** PaddleX's DocPreprocessorPipeline keys, both on by default (`config.get("use_doc_...", True)`). */
function yamlSteps(config: PipelineConfig | undefined): DocPreprocessingSteps {
  return {
    useDocOrientationClassify: config?.use_doc_orientation_classify !== false,
    useDocUnwarping: config?.use_doc_unwarping !== false,
  };
}

/**
 * PaddleX's get_model_settings: a flag the request leaves out (or null) takes the YAML's. Then its
 * check_model_settings_valid: a requested step whose model this server did not load is refused,
 * naming the model and the YAML key (`config` is the active config, holding only loaded models).
 */
export function resolveDocPreprocessingSteps(
  req: { useDocOrientationClassify?: boolean | null; useDocUnwarping?: boolean | null },
  config: PipelineConfig | undefined,
  keyPrefix: string,
): DocPreprocessingSteps {
  const fromYaml = yamlSteps(config);
  const steps = {
    useDocOrientationClassify: req.useDocOrientationClassify ?? fromYaml.useDocOrientationClassify,
    useDocUnwarping: req.useDocUnwarping ?? fromYaml.useDocUnwarping,
  };
  const missing = (role: string) => !config?.SubModules?.[role];
  const refuse = (what: string, role: string, model: string) => {
    const flag = `${keyPrefix}${role === DOC_ORIENTATION ? 'use_doc_orientation_classify' : 'use_doc_unwarping'}: True`;
    // a nested doc preprocessor (OCR's) is also switched on by the pipeline's use_doc_preprocessor
    const switches = keyPrefix ? `use_doc_preprocessor: True and ${flag}` : flag;
    return unloadedModelRequested(
      `${what} was requested, but this server has no ${model} model loaded ` +
        `(${keyPrefix}SubModules.${role}). Set ${switches} in the pipeline YAML and give the model_dir of the model.`,
    );
  };
  if (steps.useDocOrientationClassify && missing(DOC_ORIENTATION)) {
    throw refuse('Document orientation classification', DOC_ORIENTATION, 'doc orientation (e.g. PP-LCNet_x1_0_doc_ori)');
  }
  if (steps.useDocUnwarping && missing(DOC_UNWARPING)) throw refuse('Document unwarping', DOC_UNWARPING, 'unwarping (UVDoc)');
  return steps;
}

/**
 * PaddleX's get_model_settings for a pipeline that embeds a doc preprocessor: either doc flag true ⇒
 * on, any given but none true ⇒ off, none given ⇒ the YAML's `use_doc_preprocessor`; when on, its
 * steps (`doc` is the loaded doc preprocessor config, if any; without one, a step the request did
 * not mention is not asked for, so the refusal names the one it did).
 */
export function resolveDocPreprocessing(
  req: { useDocOrientationClassify?: boolean | null; useDocUnwarping?: boolean | null },
  fromYaml: boolean,
  doc: PipelineConfig | undefined,
  keyPrefix: string,
): { useDocPreprocessor: boolean; docSteps: DocPreprocessingSteps } {
  const useDocPreprocessor =
    req.useDocOrientationClassify == null && req.useDocUnwarping == null
      ? fromYaml
      : req.useDocOrientationClassify === true || req.useDocUnwarping === true;
  if (!useDocPreprocessor) return { useDocPreprocessor, docSteps: { useDocOrientationClassify: false, useDocUnwarping: false } };
  const asked = doc
    ? req
    : { useDocOrientationClassify: req.useDocOrientationClassify ?? false, useDocUnwarping: req.useDocUnwarping ?? false };
  return { useDocPreprocessor, docSteps: resolveDocPreprocessingSteps(asked, doc, keyPrefix) };
}

/** The config without the models its YAML switches off, so those are neither required nor loaded. */
export function activeDocPreprocessingConfig(config: PipelineConfig): PipelineConfig {
  const { useDocOrientationClassify, useDocUnwarping } = yamlSteps(config);
  const SubModules = { ...config.SubModules };
  if (!useDocOrientationClassify) delete SubModules[DOC_ORIENTATION];
  if (!useDocUnwarping) delete SubModules[DOC_UNWARPING];
  return { ...config, SubModules };
}

/** PaddleX's DocPreprocessorResult as JSON (`input_path` and `page_index` pruned): angle -1 when not classified. */
export const docPreprocessingResult = z.object({
  model_settings: z.object({ use_doc_orientation_classify: z.boolean(), use_doc_unwarping: z.boolean() }),
  angle: z.number().int(),
});
export type DocPreprocessingResult = z.input<typeof docPreprocessingResult>;

export const DOC_PREPROCESSOR = 'DocPreprocessor';

/** A pipeline's own doc preprocessing stage for one request (OCR, seal and formula recognition nest it). */
export interface NestedDocPreprocessing {
  useDocPreprocessor: boolean;
  /** the doc preprocessor's steps (both false when it is off) */
  docSteps: DocPreprocessingSteps;
}

/**
 * PaddleX's get_model_settings for a pipeline nesting `SubPipelines.DocPreprocessor`: either doc flag
 * true ⇒ on, any given but none true ⇒ off, none given ⇒ `yamlDefault`. The steps then resolve as the
 * doc_preprocessor pipeline's; without a loaded doc preprocessor, a step the request does not mention
 * is not asked for, so the refusal names the one that was. `config` is the active config.
 */
export function resolveNestedDocPreprocessing(
  req: { useDocOrientationClassify?: boolean | null; useDocUnwarping?: boolean | null },
  config: PipelineConfig,
  yamlDefault: boolean,
): NestedDocPreprocessing {
  return resolveDocPreprocessing(req, yamlDefault, config.SubPipelines?.[DOC_PREPROCESSOR], `SubPipelines.${DOC_PREPROCESSOR}.`);
}

/** `SubPipelines.DocPreprocessor` kept (its active parts) only when `enabled`, so its models load only then. */
export function activeNestedDocPreprocessing(
  SubPipelines: PipelineConfig['SubPipelines'],
  enabled: boolean,
): NonNullable<PipelineConfig['SubPipelines']> {
  const { [DOC_PREPROCESSOR]: doc, ...rest } = SubPipelines ?? {};
  return enabled && doc ? { ...rest, [DOC_PREPROCESSOR]: activeDocPreprocessingConfig(doc) } : rest;
}
