/**
 * 3D BEV detection fixtures. BEVFusion cannot run here (PaddleX runs it only on GPU with custom
 * voxelisation and NMS ops), so the model is a self-made ONNX graph with the I/O of PaddleX's
 * BEVFusion export (Paddle3D's `BEVFFasterRCNN.export` as PaddleX feeds it in `GetInferInput`
 * order): inputs `img` [6, 3, 448, 800], `lidar2img` [6, 4, 4], `pts` [N, 4] (x, y, z, time lag);
 * outputs by position: boxes [N, 9], labels [N] (int64), scores [N]. Its answer is one box per
 * camera view v:
 *
 *   bbox   = [mean of the points' four columns…, mean of view v's three normalised channels…,
 *             lidar2img[v][0][3], lidar2img[v][2][3]]
 *   label  = the channel (0 R, 1 G, 2 B) with the largest mean in view v
 *   score  = sigmoid(mean of view v's three channel means)
 *
 * so every number checks one part of the pre-processing (point and sweep loading, image resizing,
 * normalisation and padding, the lidar→image matrices).
 *
 * The sample is built as PaddleX's demo sample is laid out, by a Python script (Debian's python3-numpy
 * comes with the test dependency python3-skimage): one base directory with `nuscenes_infos_val.pkl`
 * (Python's own pickle of dicts, lists and numpy arrays), raw float32 point files and six solid-colour
 * PNG images, archived with Python's tarfile. The same script computes the expected points and
 * matrices with PaddleX's own numpy formulas.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { fixtureTempRoot } from './fixtures.js';
import { buildModel, int64Tensor, node, valueInfo } from './onnxBuilder.js';

export const CAMERAS = ['CAM_FRONT_LEFT', 'CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_BACK_RIGHT', 'CAM_BACK', 'CAM_BACK_LEFT'];
/** One solid colour per camera, in CAMERAS order. */
export const CAMERA_COLOURS: Array<[number, number, number]> = [
  [200, 40, 40],
  [30, 180, 60],
  [20, 50, 220],
  [250, 250, 10],
  [90, 200, 200],
  [128, 128, 128],
];
export const MEAN = [123.675, 116.28, 103.53];
export const STD = [58.395, 57.12, 57.375];

/** BEVFusion's inference.yml as PaddleX's export writes it (the val transforms of PaddleX's BEVFusion.yaml). */
export const BEVFUSION_INFERENCE_YML = {
  Global: { model_name: 'BEVFusion' },
  PreProcess: {
    transform_ops: [
      { LoadPointsFromFile: { load_dim: 5, use_dim: 5 } },
      { LoadPointsFromMultiSweeps: { sweeps_num: 10 } },
      { LoadMultiViewImageFromFiles: null },
      { ResizeImage: { img_scale: [[800, 448]], keep_ratio: true } },
      { NormalizeImage: { mean: MEAN, std: STD, to_rgb: true } },
      { PadImage: { size_divisor: 32 } },
      { SampleFilterByKey: { keys: ['points', 'img'] } },
    ],
  },
};

export async function bevFusionFixtureDir(): Promise<string> {
  const model = buildModel({
    inputs: [valueInfo('img', [6, 3, 448, 800]), valueInfo('lidar2img', [6, 4, 4]), valueInfo('pts', ['n', 4])],
    outputs: [
      valueInfo('save_infer_model/scale_0.tmp_0', [6, 9]),
      valueInfo('save_infer_model/scale_1.tmp_0', [6], 'int64'),
      valueInfo('save_infer_model/scale_2.tmp_0', [6]),
    ],
    initializers: [
      int64Tensor('views_by_4', [2], [6, 4]),
      int64Tensor('views_by_16', [2], [6, 16]),
      int64Tensor('translation_cells', [2], [3, 11]),
    ],
    nodes: [
      // means in double: float32 sums over 358 400 pixels would drift by ~1e-4
      node('Cast', ['img'], ['img_double'], { to: { i: 11 } }),
      node('ReduceMean', ['img_double'], ['view_means_double'], { axes: { ints: [2, 3] }, keepdims: { i: 0 } }),
      node('Cast', ['view_means_double'], ['view_means'], { to: { i: 1 } }),
      node('ReduceMean', ['pts'], ['points_mean'], { axes: { ints: [0] }, keepdims: { i: 1 } }),
      node('Expand', ['points_mean', 'views_by_4'], ['points_per_view']),
      node('Reshape', ['lidar2img', 'views_by_16'], ['matrices_flat']),
      node('Gather', ['matrices_flat', 'translation_cells'], ['translations'], { axis: { i: 1 } }),
      node('Concat', ['points_per_view', 'view_means', 'translations'], ['save_infer_model/scale_0.tmp_0'], { axis: { i: 1 } }),
      node('ArgMax', ['view_means'], ['save_infer_model/scale_1.tmp_0'], { axis: { i: 1 }, keepdims: { i: 0 } }),
      node('ReduceMean', ['view_means'], ['overall_means'], { axes: { ints: [1] }, keepdims: { i: 0 } }),
      node('Sigmoid', ['overall_means'], ['save_infer_model/scale_2.tmp_0']),
    ],
  });
  const dir = await mkdtemp(path.join(fixtureTempRoot(), 'BEVFusion-'));
  await writeFile(path.join(dir, 'inference.onnx'), model);
  await writeFile(path.join(dir, 'inference.yml'), YAML.stringify(BEVFUSION_INFERENCE_YML));
  return dir;
}

/** What PaddleX's numpy code makes of the sample (from the script below). */
export interface BevOracle {
  /** mean of the model's points input, per column (x, y, z, time lag) */
  pointsMean: number[];
  pointCount: number;
  /** row-major 4×4 per camera */
  lidar2img: number[][];
}

const SAMPLE_SCRIPT = String.raw`
import json, os, pickle, struct, sys, tarfile, zlib
import numpy as np
root, protocol, sweep_count, width, height = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
colours = json.loads(sys.argv[6])
rng = np.random.default_rng(7)
TS = 1533151603547590
CAMS = ["CAM_FRONT_LEFT", "CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_BACK_RIGHT", "CAM_BACK", "CAM_BACK_LEFT"]
def rot_z(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
for sub in ("samples/LIDAR_TOP", "sweeps/LIDAR_TOP"):
    os.makedirs(root + "/sample/" + sub, exist_ok=True)
def points(name, n):
    p = rng.uniform(-30, 30, size=(n, 5)).astype(np.float32)
    p.tofile(root + "/sample/" + name)
    return p
key = points("samples/LIDAR_TOP/key.pcd.bin", 64)
other = points("samples/LIDAR_TOP/later.pcd.bin", 16)
sweeps = []
for k in range(sweep_count):
    points("sweeps/LIDAR_TOP/sweep%d.pcd.bin" % k, 32)
    sweeps.append(dict(data_path="./sweeps/LIDAR_TOP/sweep%d.pcd.bin" % k, type="lidar", sample_data_token="sweep%d" % k,
                       timestamp=TS - 50000 * (k + 1), sensor2lidar_rotation=rot_z(0.1 * (k + 1)),
                       sensor2lidar_translation=np.array([0.5 * k, -0.2, 0.1]), sensor2ego_translation=[0.9, 0.0, 1.8]))
def png(path, rgb):
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
cams = {}
for i, name in enumerate(CAMS):
    os.makedirs("%s/sample/samples/%s" % (root, name), exist_ok=True)
    png("%s/sample/samples/%s/%s.png" % (root, name, name), colours[i])
    # camera looking along the LiDAR's x rotated by i * 60 degrees (camera z forward, x right, y down)
    base = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    cams[name] = dict(data_path="samples/%s/%s.png" % (name, name), type=name, timestamp=TS,
                      sensor2lidar_rotation=rot_z(i * np.pi / 3) @ base,
                      sensor2lidar_translation=np.array([1.0 + i, 0.5 - 0.1 * i, 1.6]),
                      cam_intrinsic=np.array([[1266.4, 0.0, 816.3], [0.0, 1266.4, 491.5], [0.0, 0.0, 1.0]]))
info = dict(lidar_path="./samples/LIDAR_TOP/key.pcd.bin", token="first", sweeps=sweeps, cams=cams, timestamp=TS,
            lidar2ego_translation=[0.94, 0.0, 1.84], gt_boxes=np.zeros((2, 7)), gt_names=np.array(["car", "pedestrian"]),
            valid_flag=np.array([True, False]), num_lidar_pts=np.array([3, 4]))
later = dict(info, lidar_path="samples/LIDAR_TOP/later.pcd.bin", token="later", sweeps=[], timestamp=TS + 500000)
with open(root + "/sample/nuscenes_infos_val.pkl", "wb") as f:
    pickle.dump(dict(infos=[later, info], metadata=dict(version="v1.0-mini")), f, protocol=protocol)
with tarfile.open(root + "/sample.tar", "w") as archive:
    archive.add(root + "/sample", arcname="sample")
# PaddleX's LoadPointsFromFile (load_dim 5, use_dim 5) and LoadPointsFromMultiSweeps (sweeps_num 10)
pts = key.copy()
pts[:, 4] = 0
parts = [pts]
for s in sweeps[:10]:
    p = np.fromfile(root + "/sample/" + s["data_path"], dtype=np.float32).reshape(-1, 5)
    p[:, :3] = p[:, :3] @ s["sensor2lidar_rotation"].T
    p[:, :3] += s["sensor2lidar_translation"]
    p[:, 4] = TS / 1e6 - s["timestamp"] / 1e6
    parts.append(p)
pts = np.concatenate(parts, axis=0)[:, [0, 1, 2, 4]]
# ReadNuscenesData's lidar2img
mats = []
for name in CAMS:
    c = cams[name]
    r = np.linalg.inv(c["sensor2lidar_rotation"])
    t = c["sensor2lidar_translation"] @ r.T
    rt = np.eye(4)
    rt[:3, :3] = r.T
    rt[3, :3] = -t
    view = np.eye(4)
    view[:3, :3] = c["cam_intrinsic"]
    mats.append((view @ rt.T).astype(np.float32).reshape(-1).tolist())
print(json.dumps(dict(pointsMean=pts.astype(np.float64).mean(0).tolist(), pointCount=len(pts), lidar2img=mats)))
`;

export interface BevSampleOptions {
  /** pickle protocol of the info file (Python's default is 4) */
  protocol?: number;
  sweeps?: number;
  /** width × height of every camera image (nuScenes: 1600 × 900) */
  imageSize?: [number, number];
}

const samples = new Map<string, { file: string; oracle: BevOracle }>();

/**
 * A sample tar as PaddleX's demo has it (written by Python's tarfile, the module PaddleX reads it
 * with), and what PaddleX's numpy code computes from it; built once per set of options.
 */
export function bevSampleTar(options: BevSampleOptions = {}): { file: string; oracle: BevOracle } {
  const args = [String(options.protocol ?? 4), String(options.sweeps ?? 2), ...(options.imageSize ?? [1600, 900]).map(String)];
  const key = args.join();
  let sample = samples.get(key);
  if (!sample) {
    const root = mkdtempSync(path.join(fixtureTempRoot(), 'bev-sample-'));
    const out = execFileSync('python3', ['-c', SAMPLE_SCRIPT, root, ...args, JSON.stringify(CAMERA_COLOURS)], { encoding: 'utf8' });
    sample = { file: path.join(root, 'sample.tar'), oracle: JSON.parse(out) as BevOracle };
    samples.set(key, sample);
  }
  return sample;
}

/** The model's answer for `oracle` and the camera colours (float64; compare with a tolerance). */
export function expectedDetections(oracle: BevOracle): Array<{ bbox: number[]; categoryId: number; score: number }> {
  // 796 of the 800 padded columns hold the resized image, the padding is zero
  const filled = 796 / 800;
  return CAMERA_COLOURS.map((colour, v) => {
    const means = colour.map((c, k) => ((c - MEAN[k]!) / STD[k]!) * filled);
    const overall = (means[0]! + means[1]! + means[2]!) / 3;
    return {
      bbox: [...oracle.pointsMean, ...means, oracle.lidar2img[v]![3]!, oracle.lidar2img[v]![11]!],
      categoryId: means.indexOf(Math.max(...means)),
      score: 1 / (1 + Math.exp(-overall)),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Hand-made tar members, for archives no tar tool would write

export interface RawMember {
  name: string;
  /** tar type flag: '0' file, '1' hard link, '2' symbolic link, '5' directory */
  type?: string;
  data?: Uint8Array;
  linkName?: string;
  /** the size the header claims (default: the data's length) */
  size?: number;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** One ustar header block for `member`. */
function header(member: RawMember): Buffer {
  const block = Buffer.alloc(512);
  block.write(member.name, 0, 100, 'utf8');
  block.write(octal(0o644, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii');
  block.write(octal(0, 8), 116, 'ascii');
  block.write(octal(member.size ?? member.data?.length ?? 0, 12), 124, 'ascii');
  block.write(octal(0, 12), 136, 'ascii');
  block.write('        ', 148, 'ascii');
  block.write(member.type ?? '0', 156, 'ascii');
  if (member.linkName) block.write(member.linkName, 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 'binary');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/** A tar archive of `members` (data padded to 512-byte blocks, two zero blocks at the end). */
export function rawTar(members: RawMember[]): Buffer {
  const parts: Buffer[] = [];
  for (const member of members) {
    parts.push(header(member));
    const data = Buffer.from(member.data ?? new Uint8Array());
    parts.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
