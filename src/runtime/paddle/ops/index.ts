import type { MapperTables, OpMapper } from '../context.js';
import { activationMappers } from './activation.js';
import { constantMappers } from './constant.js';
import { controlMappers } from './control.js';
import { convMappers } from './conv.js';
import { elementwiseMappers } from './elementwise.js';
import { indexingMappers } from './indexing.js';
import { interpMappers } from './interp.js';
import { mathMappers } from './math.js';
import { normMappers } from './norm.js';
import { poolMappers } from './pool.js';
import { reduceMappers } from './reduce.js';
import { samplingMappers } from './sampling.js';
import { shapeMappers } from './shape.js';

const FAMILIES: MapperTables[] = [
  activationMappers,
  constantMappers,
  controlMappers,
  convMappers,
  elementwiseMappers,
  indexingMappers,
  interpMappers,
  mathMappers,
  normMappers,
  poolMappers,
  reduceMappers,
  samplingMappers,
  shapeMappers,
];

export const MAPPERS: MapperTables = {
  programDesc: Object.assign({}, ...FAMILIES.map((f) => f.programDesc)) as Record<string, OpMapper>,
  pir: Object.assign({}, ...FAMILIES.map((f) => f.pir)) as Record<string, OpMapper>,
};
