import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResolvedSubModule } from '../src/config/models.js';
import { ConfigError } from '../src/errors.js';
import type { RgbImage } from '../src/io/image.js';
import { InferenceConfigReader } from '../src/models/common.js';
import { PaddleClasPreprocess } from '../src/models/paddleClasPreprocess.js';

const KEY_PATH = 'SubModules.ImageClassification';

function reader(transformOps: unknown[]): InferenceConfigReader {
  const sub: ResolvedSubModule = {
    module_name: 'image_classification',
    model_name: 'PP-LCNet_x1_0',
    resolved: {
      modelName: 'PP-LCNet_x1_0',
      onnxPath: '/nowhere/inference.onnx',
      source: '/models/PP-LCNet_x1_0',
      inferenceConfig: { PreProcess: { transform_ops: transformOps } },
    },
  };
  return new InferenceConfigReader(sub, KEY_PATH);
}

/** An image whose pixel (x, y) is (x, y, 7), so crops can be located from their content. */
function coordinateImage(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x, y, 7], (y * width + x) * 3);
  return { width, height, data };
}

const NORMALIZE = { NormalizeImage: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], scale: '1./255.', order: '' } };

describe('PaddleClasPreprocess', () => {
  test('resize_short rounds as Python does (half to even): 513×512 → 256×256, not 257×256', async () => {
    const preprocess = PaddleClasPreprocess.fromConfig(reader([{ ResizeImage: { resize_short: 256 } }, NORMALIZE, { ToCHWImage: null }]));
    const out = await preprocess.resizeAndCrop(coordinateImage(513, 512));
    assert.deepEqual([out.width, out.height], [256, 256]);
    const tall = await preprocess.resizeAndCrop(coordinateImage(100, 300));
    assert.deepEqual([tall.width, tall.height], [256, 768]);
    assert.equal(preprocess.fixedSize, undefined);
  });

  test('the crop is centred, at floor((side − size) / 2), and fixes the output size', async () => {
    const preprocess = PaddleClasPreprocess.fromConfig(
      reader([
        { ResizeImage: { size: [9, 6], interpolation: 'NEAREST' } },
        { CropImage: { size: [4, 3] } },
        NORMALIZE,
        { ToCHWImage: null },
      ]),
    );
    assert.deepEqual(preprocess.fixedSize, { width: 4, height: 3 });
    const out = await preprocess.resizeAndCrop(coordinateImage(9, 6));
    assert.deepEqual([out.width, out.height], [4, 3]);
    // first pixel of the crop: x = floor(5 / 2) = 2, y = floor(3 / 2) = 1
    assert.deepEqual(Array.from(out.data.subarray(0, 3)), [2, 1, 7]);
  });

  test('ops run as Resize → Crop → Normalize → CHW whatever their order in the list', async () => {
    const ordered = PaddleClasPreprocess.fromConfig(
      reader([{ ResizeImage: { size: 4 } }, { CropImage: { size: 2 } }, NORMALIZE, { ToCHWImage: null }]),
    );
    const shuffled = PaddleClasPreprocess.fromConfig(
      reader([{ ToCHWImage: null }, NORMALIZE, { CropImage: { size: 2 } }, { ResizeImage: { size: 4 } }]),
    );
    const img = coordinateImage(8, 8);
    const a = ordered.toTensor([await ordered.resizeAndCrop(img)]);
    const b = shuffled.toTensor([await shuffled.resizeAndCrop(img)]);
    assert.deepEqual(a.dims, [1, 3, 2, 2]);
    assert.deepEqual(b.data, a.data);
    // channel 2 (blue, RGB order) is 7 everywhere: (7/255 − 0.5) / 0.5
    assert.ok(Array.from((a.data as Float32Array).subarray(8, 12)).every((v) => Math.abs(v - (7 / 255 - 0.5) / 0.5) < 1e-6));
  });

  test('NormalizeImage defaults to PaddleX’s ImageNet mean/std and 1/255', async () => {
    const preprocess = PaddleClasPreprocess.fromConfig(
      reader([{ ResizeImage: { size: 1 } }, { NormalizeImage: null }, { ToCHWImage: null }]),
    );
    const white: RgbImage = { width: 1, height: 1, data: new Uint8Array([255, 255, 255]) };
    const tensor = preprocess.toTensor([await preprocess.resizeAndCrop(white)]);
    const expected = [(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225];
    Array.from(tensor.data as Float32Array).forEach((v, c) => assert.ok(Math.abs(v - expected[c]!) < 1e-5, `channel ${c}: ${v}`));
  });

  test('an image smaller than the crop after resizing is a 422', async () => {
    const preprocess = PaddleClasPreprocess.fromConfig(
      reader([{ ResizeImage: { resize_short: 200 } }, { CropImage: { size: [300, 200] } }, NORMALIZE, { ToCHWImage: null }]),
    );
    // landscape 2:1 → 400×200 fits the 300×200 window; portrait → 200×400 does not
    assert.deepEqual((await preprocess.resizeAndCrop(coordinateImage(40, 20))).width, 300);
    await assert.rejects(preprocess.resizeAndCrop(coordinateImage(20, 40)), {
      status: 422,
      message: /200x400 is smaller than the model's 300x200 center crop/,
    });
  });

  test('missing ops and bad parameters are ConfigErrors naming key path, model dir and setting', () => {
    const cases: Array<[unknown[], RegExp]> = [
      [[NORMALIZE, { ToCHWImage: null }], /inference\.yml PreProcess\.transform_ops: no ResizeImage op/],
      [[{ ResizeImage: { size: 4 } }, { ToCHWImage: null }], /no NormalizeImage op/],
      [[{ ResizeImage: { size: 4 } }, NORMALIZE], /no ToCHWImage op/],
      [
        [{ ResizeImage: {} }, NORMALIZE, { ToCHWImage: null }],
        /PreProcess\.transform_ops\[0\] \(ResizeImage\): needs resize_short or size/,
      ],
      [
        [{ ResizeImage: { size: 4 } }, { NormalizeImage: { std: [1, 0, 1] } }, { ToCHWImage: null }],
        /transform_ops\[1\] \(NormalizeImage\)\.std: std values must be non-zero/,
      ],
      [
        [{ ResizeImage: { size: 4 }, CropImage: { size: 2 } }, NORMALIZE, { ToCHWImage: null }],
        /transform_ops\[0\]: each op must be a mapping with exactly one op name/,
      ],
    ];
    for (const [ops, pattern] of cases) {
      assert.throws(
        () => PaddleClasPreprocess.fromConfig(reader(ops)),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.message.startsWith(`${KEY_PATH} (model PP-LCNet_x1_0 from /models/PP-LCNet_x1_0): `) &&
          pattern.test(err.message),
        JSON.stringify(ops),
      );
    }
  });
});
