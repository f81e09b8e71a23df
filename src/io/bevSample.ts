/**
 * The multi-sensor sample PaddleX's 3d_bev_detection takes: a tar archive with one base directory
 * holding `nuscenes_infos_val.pkl` (mmdetection3d's nuScenes info format) and the files it names —
 * the LiDAR key frame and its sweeps (raw float32 points) and six camera images. As PaddleX
 * (`Det3DBatchSampler` + `ReadNuscenesData`): the infos are sorted by timestamp, every data path is
 * taken relative to the base directory, and the cameras are read in nuScenes order. PaddleX's
 * serving answers with the first info's result only; so does this.
 *
 * The archive is read with the caps of src/io/safeTar.ts, the info file with the restricted pickle
 * reader (plain data and numpy arrays only). A path that is absolute or leaves the base directory,
 * or a file the info names but the archive lacks, is a 422 (PaddleX would read it from its own disk).
 */
import { invalidInput } from '../errors.js';
import { NdArray, NUMPY_GLOBALS, PickleFormatError, readPickle, Tuple } from './restrictedPickle.js';
import { readSafeTar, safeMemberPath, type TarFiles, type TarLimits } from './safeTar.js';

export const INFO_FILE = 'nuscenes_infos_val.pkl';

/** ReadNuscenesData's camera order (the model's six views come in this order). */
export const CAMERA_ORDER = ['CAM_FRONT_LEFT', 'CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_BACK_RIGHT', 'CAM_BACK', 'CAM_BACK_LEFT'] as const;

/** A sample is a few dozen files (key frame, ten sweeps, six images, the info file); nuScenes images are ~1 MB, point files ~2 MB. */
export const BEV_TAR_LIMITS: TarLimits = { maxEntries: 1000, maxFileBytes: 64 * 2 ** 20, maxTotalBytes: 512 * 2 ** 20 };

/** Row-major 3×3 (rotations, intrinsics) and 3-vectors, as the info file gives them. */
export interface BevSweep {
  path: string;
  points: Uint8Array;
  /** microseconds */
  timestamp: number;
  sensor2lidarRotation: number[];
  sensor2lidarTranslation: number[];
}

export interface BevCamera {
  name: string;
  path: string;
  image: Uint8Array;
  sensor2lidarRotation: number[];
  sensor2lidarTranslation: number[];
  intrinsic: number[];
}

export interface BevSample {
  token: string;
  /** microseconds */
  timestamp: number;
  lidarPath: string;
  lidar: Uint8Array;
  sweeps: BevSweep[];
  cameras: BevCamera[];
}

type Dict = Map<unknown, unknown>;

class InfoReader {
  constructor(
    private readonly field: string,
    private readonly files: TarFiles,
    private readonly base: string,
  ) {}

  error(where: string, problem: string) {
    return invalidInput(`${this.field}: ${INFO_FILE}: ${where} ${problem}`);
  }

  dict(value: unknown, where: string): Dict {
    if (!(value instanceof Map)) throw this.error(where, 'is not a dict');
    return value;
  }

  get(dict: Dict, key: string, where: string): unknown {
    if (!dict.has(key)) throw this.error(where, `has no "${key}"`);
    return dict.get(key);
  }

  string(dict: Dict, key: string, where: string): string {
    const value = this.get(dict, key, where);
    if (typeof value !== 'string') throw this.error(`${where}.${key}`, 'is not a string');
    return value;
  }

  number(dict: Dict, key: string, where: string): number {
    const value = this.get(dict, key, where);
    if (typeof value !== 'number' || !Number.isFinite(value)) throw this.error(`${where}.${key}`, 'is not a number');
    return value;
  }

  /** A numpy array or nested lists of `rows × cols` numbers (cols 0: a vector of `rows`), row-major. */
  matrix(dict: Dict, key: string, where: string, rows: number, cols: number): number[] {
    const value = this.get(dict, key, where);
    const flat = (v: unknown): unknown[] | undefined => {
      if (v instanceof NdArray) return v.values;
      const items = v instanceof Tuple ? v.items : Array.isArray(v) ? v : undefined;
      return items?.flatMap((item) => (typeof item === 'number' ? [item] : (flat(item) ?? [Number.NaN])));
    };
    const numbers = flat(value);
    const expected = cols ? rows * cols : rows;
    if (!numbers || numbers.length !== expected || !numbers.every((n) => typeof n === 'number' && Number.isFinite(n))) {
      throw this.error(`${where}.${key}`, `is not ${cols ? `a ${rows}×${cols} matrix` : `a vector of ${rows}`} of numbers`);
    }
    return numbers as number[];
  }

  /** `os.path.join(data_root_dir, path)` inside the archive: the file's bytes, or a 422. */
  file(dict: Dict, key: string, where: string): { path: string; bytes: Uint8Array } {
    const name = this.string(dict, key, where);
    if (name.startsWith('/'))
      throw this.error(`${where}.${key}`, `${JSON.stringify(name)} is an absolute path; paths must be inside the archive`);
    // a `..` is refused here, so the path stays inside the base directory
    const path = safeMemberPath(`${this.base}/${name}`, `${this.field}: ${INFO_FILE}: ${where}.${key}`);
    const bytes = this.files.get(path);
    if (!bytes) throw this.error(`${where}.${key}`, `names ${JSON.stringify(name)}, which the archive does not hold`);
    return { path, bytes };
  }
}

/** The sample of a client's tar (URL or Base64 already fetched): the first info by timestamp, with every file it names. */
export async function readBevSample(bytes: Uint8Array, field: string): Promise<BevSample> {
  const files = await readSafeTar(bytes, BEV_TAR_LIMITS, field);
  const bases = new Set([...files.keys()].map((name) => name.split('/')[0]!));
  if (bases.size !== 1) {
    throw invalidInput(
      `${field}: Only one base directory is allowed for 3d bev dataset! (the archive has ${[...bases].slice(0, 5).join(', ')})`,
    );
  }
  const [base] = bases as Set<string>;
  const pkl = files.get(`${base}/${INFO_FILE}`);
  if (!pkl) throw invalidInput(`${field}: the archive has no ${base}/${INFO_FILE}`);
  let data: unknown;
  try {
    data = readPickle(pkl, { what: `a nuScenes info file (${INFO_FILE})`, globals: NUMPY_GLOBALS });
  } catch (err) {
    if (err instanceof PickleFormatError) throw invalidInput(`${field}: ${INFO_FILE} cannot be read: ${err.message}`);
    throw err;
  }
  const reader = new InfoReader(field, files, base!);
  const infos = reader.get(reader.dict(data, 'the top level'), 'infos', 'the top level');
  if (!Array.isArray(infos) || infos.length === 0) throw reader.error('infos', 'is not a non-empty list');
  const dicts = infos.map((info, i) => reader.dict(info, `infos[${i}]`));
  const stamps = dicts.map((info, i) => reader.number(info, 'timestamp', `infos[${i}]`));
  // Python's sorted() is stable: the first of equal timestamps stays first
  const first = stamps.indexOf(Math.min(...stamps));
  const where = `infos[${first}]`;
  const info = dicts[first]!;
  const lidar = reader.file(info, 'lidar_path', where);
  const sweepList = reader.get(info, 'sweeps', where);
  if (!Array.isArray(sweepList)) throw reader.error(`${where}.sweeps`, 'is not a list');
  const sweeps = sweepList.map((value, i): BevSweep => {
    const at = `${where}.sweeps[${i}]`;
    const sweep = reader.dict(value, at);
    const file = reader.file(sweep, 'data_path', at);
    return {
      path: file.path,
      points: file.bytes,
      timestamp: reader.number(sweep, 'timestamp', at),
      sensor2lidarRotation: reader.matrix(sweep, 'sensor2lidar_rotation', at, 3, 3),
      sensor2lidarTranslation: reader.matrix(sweep, 'sensor2lidar_translation', at, 3, 0),
    };
  });
  const cams = reader.dict(reader.get(info, 'cams', where), `${where}.cams`);
  const cameras = CAMERA_ORDER.map((name): BevCamera => {
    const at = `${where}.cams.${name}`;
    const cam = reader.dict(reader.get(cams, name, `${where}.cams`), at);
    const file = reader.file(cam, 'data_path', at);
    return {
      name,
      path: file.path,
      image: file.bytes,
      sensor2lidarRotation: reader.matrix(cam, 'sensor2lidar_rotation', at, 3, 3),
      sensor2lidarTranslation: reader.matrix(cam, 'sensor2lidar_translation', at, 3, 0),
      intrinsic: reader.matrix(cam, 'cam_intrinsic', at, 3, 3),
    };
  });
  return {
    token: reader.string(info, 'token', where),
    timestamp: stamps[first]!,
    lidarPath: lidar.path,
    lidar: lidar.bytes,
    sweeps,
    cameras,
  };
}
