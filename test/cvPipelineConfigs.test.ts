import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { resolvePipelineModels } from '../src/config/models.js';
import { loadPipelineConfig } from '../src/config/pipelineConfig.js';
import { ConfigError } from '../src/errors.js';
import { pipelineDescriptor } from '../src/pipelines/registry.js';

/** The built-in configs of these pipelines, and the model each one misses first on a fresh machine. */
const BUILTIN = [
  ['rotated_object_detection', 'PP-YOLOE-R-L', 'SubModules.RotatedObjectDetection', 'rotated_object_detection'],
  ['human_keypoint_detection', 'PP-YOLOE-S_human', 'SubModules.ObjectDetection', 'object_detection'],
  ['pedestrian_attribute_recognition', 'PP-YOLOE-L_human', 'SubModules.Detection', 'object_detection'],
  ['vehicle_attribute_recognition', 'PP-YOLOE-L_vehicle', 'SubModules.Detection', 'object_detection'],
] as const;

test('built-in configs carry PaddleX’s names and defaults; without the models, startup names the missing one and where to put it', async () => {
  const home = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-home-'));
  const previous = process.env.PIPESERVE_HOME;
  process.env.PIPESERVE_HOME = home;
  try {
    for (const [name, model, keyPath, moduleName] of BUILTIN) {
      const { config } = await loadPipelineConfig(name);
      assert.equal(config.pipeline_name, name);
      assert.equal(pipelineDescriptor(name).pipelineName, name);
      assert.throws(
        () => resolvePipelineModels(config),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.message.includes(`Model "${model}" (${keyPath}, module ${moduleName}) was not found`) &&
          err.message.includes(path.join(home, 'models', model)),
      );
    }
  } finally {
    if (previous === undefined) delete process.env.PIPESERVE_HOME;
    else process.env.PIPESERVE_HOME = previous;
  }
  const pedestrian = (await loadPipelineConfig('pedestrian_attribute_recognition')).config.SubModules!;
  assert.equal(pedestrian.Detection!.threshold, 0.5);
  assert.equal(pedestrian.Classification!.threshold, 0.7);
  assert.equal(pedestrian.Classification!.model_name, 'PP-LCNet_x1_0_pedestrian_attribute');
  const keypoints = (await loadPipelineConfig('human_keypoint_detection')).config.SubModules!;
  assert.equal(keypoints.KeypointDetection!.model_name, 'PP-TinyPose_128x96');
  assert.equal(keypoints.KeypointDetection!.flip, false);
  assert.equal(keypoints.KeypointDetection!.use_udp, null);
  assert.equal((await loadPipelineConfig('rotated_object_detection')).config.SubModules!.RotatedObjectDetection!.threshold, 0.5);
});
