/**
 * Layout detection inside seal and formula recognition, HTTP side: the request fields, which settings a
 * request runs with, and PaddleX's `layout_det_res` as the results embed it.
 */
import { z } from 'zod';
import type { PipelineConfig } from '../../config/pipelineConfig.js';
import type { LayoutParams, MergeMode } from '../../models/layoutDetection.js';
import { requestLayoutParams, thresholdSchema } from './detection.js';
import { optional, unloadedModelRequested } from './request.js';

import type { layoutDetResult } from './schemas.js';

export type LayoutDetResult = z.input<typeof layoutDetResult>;

const positive = z.number().positive();

/** The layout request fields of PaddleX's seal and formula recognition endpoints. */
export const layoutRequestFields = {
  useLayoutDetection: optional(z.boolean()),
  layoutThreshold: optional(thresholdSchema),
  layoutNms: optional(z.boolean()),
  layoutUnclipRatio: optional(z.union([positive, z.tuple([positive, positive])])),
  layoutMergeBboxesMode: optional(z.enum(['union', 'large', 'small'] satisfies MergeMode[])),
};
type LayoutRequest = z.output<z.ZodObject<typeof layoutRequestFields>>;

export const LAYOUT_DETECTION = 'LayoutDetection';

/**
 * Whether a request runs layout detection (request, else the YAML's `use_layout_detection`, PaddleX's
 * default True) and with which parameters; asking for it without a loaded layout model is refused.
 */
export function resolveLayout(req: LayoutRequest, config: PipelineConfig): { useLayoutDetection: boolean; layout: LayoutParams } {
  const useLayoutDetection = req.useLayoutDetection ?? Boolean(config.use_layout_detection ?? true);
  if (useLayoutDetection && !config.SubModules?.[LAYOUT_DETECTION]) {
    throw unloadedModelRequested(
      `Layout detection was requested, but no layout model is loaded (set use_layout_detection: True and SubModules.${LAYOUT_DETECTION} in the pipeline YAML).`,
    );
  }
  return {
    useLayoutDetection,
    layout: requestLayoutParams(req),
  };
}
