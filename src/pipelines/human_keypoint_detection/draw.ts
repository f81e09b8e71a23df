import type { RgbImage } from '../../io/image.js';
import { canvasToJpeg, cssColour, imageToCanvas, PIL_JPEG_QUALITY, type Rgb } from '../../vis/draw.js';

/** PaddleX's keypoint colours, by joint (dots) and by limb (sticks). */
const COLOURS: readonly Rgb[] = [
  [255, 0, 0],
  [255, 85, 0],
  [255, 170, 0],
  [255, 255, 0],
  [170, 255, 0],
  [85, 255, 0],
  [0, 255, 0],
  [0, 255, 85],
  [0, 255, 170],
  [0, 255, 255],
  [0, 170, 255],
  [0, 85, 255],
  [0, 0, 255],
  [85, 0, 255],
  [170, 0, 255],
  [255, 0, 255],
  [255, 0, 170],
  [255, 0, 85],
];

/** COCO's skeleton as PaddleX draws it (17 joints); other joint counts get MPII's. */
const COCO_LIMBS: ReadonlyArray<readonly [number, number]> = [
  [0, 1],
  [0, 2],
  [1, 3],
  [2, 4],
  [3, 5],
  [4, 6],
  [5, 7],
  [6, 8],
  [7, 9],
  [8, 10],
  [5, 11],
  [6, 12],
  [11, 13],
  [12, 14],
  [13, 15],
  [14, 16],
  [11, 12],
];
const MPII_LIMBS: ReadonlyArray<readonly [number, number]> = [
  [0, 1],
  [1, 2],
  [3, 4],
  [4, 5],
  [2, 6],
  [3, 6],
  [6, 7],
  [7, 8],
  [8, 9],
  [10, 11],
  [11, 12],
  [13, 14],
  [14, 15],
  [8, 12],
  [8, 13],
];

/** Joints below this score are not drawn (PaddleX's visual_thresh). */
const VISUAL_THRESHOLD = 0.1;

/**
 * PaddleX's draw_keypoints: a dot (radius 2) per joint in the joint's colour, then each limb as a thin
 * stick in the limb's colour, blended at 60 %.
 */
export async function drawKeypoints(img: RgbImage, persons: Array<{ kpts: Array<[number, number, number]> }>): Promise<Uint8Array> {
  const canvas = imageToCanvas(img);
  const ctx = canvas.getContext('2d');
  for (const { kpts } of persons) {
    kpts.forEach(([x, y, score], joint) => {
      if (score < VISUAL_THRESHOLD) return;
      ctx.fillStyle = cssColour(COLOURS[joint % COLOURS.length]!);
      ctx.beginPath();
      ctx.arc(Math.trunc(x), Math.trunc(y), 2, 0, 2 * Math.PI);
      ctx.fill();
    });
  }
  ctx.globalAlpha = 0.6;
  ctx.lineWidth = 2;
  ctx.lineCap = 'round';
  for (const { kpts } of persons) {
    const limbs = kpts.length === 17 ? COCO_LIMBS : MPII_LIMBS;
    limbs.forEach(([a, b], limb) => {
      const [from, to] = [kpts[a], kpts[b]];
      if (!from || !to || from[2] < VISUAL_THRESHOLD || to[2] < VISUAL_THRESHOLD) return;
      ctx.strokeStyle = cssColour(COLOURS[limb % COLOURS.length]!);
      ctx.beginPath();
      ctx.moveTo(from[0], from[1]);
      ctx.lineTo(to[0], to[1]);
      ctx.stroke();
    });
  }
  return canvasToJpeg(canvas, PIL_JPEG_QUALITY);
}
