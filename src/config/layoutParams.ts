/**
 * The layout-detection settings PaddleX takes from YAML and requests (threshold, merge mode, unclip
 * ratio, each possibly per class id), as schemas both the models and the HTTP side can import.
 */
import { z } from 'zod';

export const MERGE_MODES = ['union', 'large', 'small'] as const;
export type MergeMode = (typeof MERGE_MODES)[number];
/** one mode for every box, or per class id (classes not listed are left alone) */
export type MergeBboxesMode = MergeMode | Record<number, MergeMode>;
/** [width ratio, height ratio] */
export type UnclipPair = [number, number];
/** one ratio for both sides, a pair, or a pair per class id (classes not listed keep their size) */
export type UnclipRatio = number | UnclipPair | Record<number, UnclipPair>;

const classIdKey = z.union([z.string().regex(/^\d+$/, 'class ids must be integers >= 0'), z.number().int().min(0)]);
/** JSON and YAML give map keys as strings ("7") or, from YAML, numbers. */
function byClassId<T extends z.ZodType>(value: T) {
  return z
    .record(z.string(), value)
    .refine((m) => Object.keys(m).every((k) => classIdKey.safeParse(k).success), 'class ids must be integers >= 0')
    .transform((m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [Number(k), v])) as Record<number, z.output<T>>);
}

const positiveRatio = z.number().positive();
const unclipPair = z.tuple([positiveRatio, positiveRatio]);
export const unclipRatioSchema = z.union([positiveRatio, unclipPair, byClassId(unclipPair)]);
export const mergeModeSchema = z.union([z.enum(MERGE_MODES), byClassId(z.enum(MERGE_MODES))]);
export const layoutThresholdSchema = z.union([z.number().min(0).max(1), byClassId(z.number().min(0).max(1))]);
