import type { InferenceSession } from 'onnxruntime-node';
import type { ResolvedSubModule } from '../config/models.js';
import { ConfigError } from '../errors.js';
import type { RgbImage } from '../io/image.js';
import type { RuntimeContext } from '../runtime/context.js';
import { ort } from '../runtime/session.js';
import { checkNonEmpty, InferenceConfigReader } from './common.js';

/**
 * Document image unwarping (PaddleX `image_unwarping`, UVDoc). The export takes the whole page,
 * `image: f32[N, 3, H, W]` of any size, predicts its own sampling grid and returns the unwarped page
 * `f32[N, 3, H, W]` in [0, 1] (the grid_sample is inside the program). Its inference.yml has no
 * PreProcess: PaddleX's WarpRunnerPredictor hard-codes it (the BGR page ÷ 255, mean 0, std 1, CHW)
 * and DocTrPostProcess turns the output back into pixels (× 255, channels reversed, cast to uint8).
 */
export class DocUnwarper {
  private constructor(private readonly session: InferenceSession) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<DocUnwarper> {
    const yml = new InferenceConfigReader(sub, keyPath);
    const session = await rt.loadSession(sub.resolved);
    const input = session.inputMetadata[0];
    const output = session.outputMetadata[0];
    const rank = (m: typeof input) => (m?.isTensor ? m.shape.length : undefined);
    if (session.inputNames.length !== 1 || rank(input) !== 4 || rank(output) !== 4) {
      throw new ConfigError(
        `${yml.where}: a UVDoc export has one input image [N, 3, H, W] and outputs the unwarped page [N, 3, H, W]; ` +
          `this model has inputs ${JSON.stringify(session.inputNames)} and a first output of rank ${rank(output) ?? 'unknown'}`,
      );
    }
    return new DocUnwarper(session);
  }

  /** One page (PaddleX runs the doc preprocessor one image at a time). */
  async predict(img: RgbImage): Promise<RgbImage> {
    checkNonEmpty([img], 'document unwarping');
    const { width, height, data } = img;
    const plane = width * height;
    const tensor = new Float32Array(plane * 3);
    // PaddleX feeds its BGR page: plane 0 is blue.
    for (let i = 0; i < plane; i++) {
      tensor[i] = data[i * 3 + 2]! / 255;
      tensor[plane + i] = data[i * 3 + 1]! / 255;
      tensor[2 * plane + i] = data[i * 3]! / 255;
    }
    const feeds = { [this.session.inputNames[0]!]: new ort.Tensor('float32', tensor, [1, 3, height, width]) };
    const result = (await this.session.run(feeds))[this.session.outputNames[0]!]!;
    const [n, channels, outHeight, outWidth] = result.dims as number[];
    if (result.dims.length !== 4 || n !== 1 || channels !== 3) {
      throw new Error(`document unwarping: expected an output [1, 3, H, W], got [${result.dims.join(', ')}]`);
    }
    const values = result.data as Float32Array;
    const outPlane = outHeight! * outWidth!;
    const out = new Uint8Array(outPlane * 3);
    // PaddleX's DocTrPostProcess reverses the channels of the BGR output, so the page it hands on
    // as BGR holds the model's planes in RGB order: here, our R takes plane 0 (the blue input
    // plane). PaddleX's unwarped pages thus come out with red and blue swapped; kept as it does.
    // astype(uint8) truncates; values outside [0, 255] (never from grid_sample of [0, 1]) are clamped.
    const toByte = (v: number) => Math.min(255, Math.max(0, Math.trunc(Math.fround(v * 255))));
    for (let i = 0; i < outPlane; i++) {
      out[i * 3] = toByte(values[i]!);
      out[i * 3 + 1] = toByte(values[outPlane + i]!);
      out[i * 3 + 2] = toByte(values[2 * outPlane + i]!);
    }
    return { width: outWidth!, height: outHeight!, data: out };
  }
}
