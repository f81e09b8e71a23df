/**
 * The built-in YAMLs of the segmentation, anomaly and multi-label pipelines, through the real CLI:
 * `--get_pipeline_config` serves them, and without the model the server refuses to start naming
 * PaddleX's default model and where to put it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { runCli } from './helpers/cli.js';
import { REPO_ROOT } from './helpers/paths.js';

const DEFAULTS = [
  { pipeline: 'semantic_segmentation', role: 'SemanticSegmentation', module: 'semantic_segmentation', model: 'PP-LiteSeg-T' },
  { pipeline: 'instance_segmentation', role: 'InstanceSegmentation', module: 'instance_segmentation', model: 'Mask-RT-DETR-S' },
  { pipeline: 'anomaly_detection', role: 'AnomalyDetection', module: 'anomaly_detection', model: 'STFPM' },
  {
    pipeline: 'image_multilabel_classification',
    role: 'ImageMultiLabelClassification',
    module: 'image_multilabel_classification',
    model: 'PP-HGNetV2-B6_ML',
  },
  { pipeline: 'open_vocabulary_detection', role: 'OpenVocabularyDetection', module: 'open_vocabulary_detection', model: 'GroundingDINO-T' },
  { pipeline: 'open_vocabulary_segmentation', role: 'BoxPromptSegmentation', module: 'open_vocabulary_segmentation', model: 'SAM-H_box' },
];

describe('built-in YAMLs named as PaddleX’s, with PaddleX’s default models', () => {
  for (const { pipeline, role, module, model } of DEFAULTS) {
    test(pipeline, async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-cv-'));
      const saved = await runCli(['--get_pipeline_config', pipeline, '--save_path', dir]);
      assert.equal(saved.code, 0, saved.stderr);
      const written = await readFile(path.join(dir, `${pipeline}.yaml`), 'utf8');
      assert.equal(written, await readFile(path.join(REPO_ROOT, 'configs', `${pipeline}.yaml`), 'utf8'));
      const config = YAML.parse(written);
      assert.equal(config.pipeline_name, pipeline);
      assert.deepEqual([config.SubModules[role].module_name, config.SubModules[role].model_name], [module, model]);

      const run = await runCli(['--serve', '--pipeline', pipeline], { PIPESERVE_HOME: dir });
      assert.equal(run.code, 1);
      assert.ok(run.stderr.includes(`Model "${model}" (SubModules.${role}, module ${module}) was not found`), run.stderr);
      assert.ok(run.stderr.includes(path.join(dir, 'models', model)), run.stderr);
    });
  }
});
