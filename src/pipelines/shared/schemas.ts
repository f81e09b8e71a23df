/** Result pieces PaddleX's schemas share (`paddlex/inference/serving/schemas/shared`), for OpenAPI and the conformance tests. */
import { z } from 'zod';

/** Schema keyword (an OpenAPI extension) that marks a string as a Base64 image of this media type. */
const IMAGE_MEDIA_TYPE = 'x-content-media-type';

/** A Base64-encoded image in a result (JPEG unless said otherwise); `--input` saves these fields as files. */
export const base64Image = (mediaType: 'image/jpeg' | 'image/png' = 'image/jpeg') =>
  // OpenAPI 3.0 spells Base64 as format "byte"; the media type goes in an extension keyword
  z
    .string()
    .meta({ format: 'byte', [IMAGE_MEDIA_TYPE]: mediaType, description: `Base64-encoded ${mediaType.slice(6).toUpperCase()} image` });

/** Images keyed by PaddleX's internal image names (`outputImages`). */
export const base64ImageMap = () => z.record(z.string(), base64Image()).meta({ description: 'Base64-encoded JPEG images by name' });

/** One page of a document pipeline whose images come by name (seal, formula recognition): `prunedResult`, `outputImages?`, `inputImage?`. */
export const pageWithOutputImages = <P extends z.ZodType>(prunedResult: P) =>
  z.object({ prunedResult, outputImages: base64ImageMap().optional(), inputImage: base64Image().optional() });

/** [x1, y1, x2, y2], top-left and bottom-right corners */
export const boundingBox = z.tuple([z.number(), z.number(), z.number(), z.number()]);

/** [x1, y1, x2, y2, x3, y3, x4, y4], the four corners of a rotated box */
export const rotatedBoundingBox = z.tuple([z.number(), z.number(), z.number(), z.number(), z.number(), z.number(), z.number(), z.number()]);

export const category = z.object({ id: z.number().int(), name: z.string(), score: z.number() });

export const imageInfo = z.object({ width: z.number().int(), height: z.number().int(), type: z.literal('image') });
export const pdfInfo = z.object({
  numPages: z.number().int(),
  pages: z.array(z.object({ width: z.number().int(), height: z.number().int() })),
  type: z.literal('pdf'),
});
/** `dataInfo` of document pipelines */
export const dataInfo = z.union([imageInfo, pdfInfo]);
export type DataInfo = z.infer<typeof dataInfo>;

/** The empty Serving.extra of pipelines that read none of it (PaddleX's CV apps ignore it). */
export const noServingExtra = z.record(z.string(), z.unknown());

type JsonSchemaNode = { [key: string]: unknown };

const isImageNode = (node: unknown): boolean => String((node as JsonSchemaNode | undefined)?.[IMAGE_MEDIA_TYPE] ?? '').startsWith('image/');

export interface ImageFields {
  /** fields holding one Base64 image */
  images: Set<string>;
  /** fields holding a map of name → Base64 image */
  imageMaps: Set<string>;
}

/**
 * The result fields that hold Base64 images (`image`, `ocrImage`, ...) and those that hold maps of
 * them (`outputImages`), found from the result schema's `base64Image` annotations; `--input` saves them as files.
 */
export function imageFields(result: z.ZodType): ImageFields {
  const images = new Set<string>();
  const imageMaps = new Set<string>();
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    const n = node as JsonSchemaNode;
    for (const [name, child] of Object.entries((n.properties as Record<string, unknown>) ?? {})) {
      if (isImageNode(child)) images.add(name);
      else if (isImageNode((child as JsonSchemaNode)?.additionalProperties)) imageMaps.add(name);
      visit(child);
    }
    for (const key of ['items', 'prefixItems', 'anyOf', 'oneOf', 'allOf', 'additionalProperties']) visit(n[key]);
  };
  visit(z.toJSONSchema(result, { io: 'input', unrepresentable: 'any' }));
  return { images, imageMaps };
}

/** A result without its Base64 images (the fields `imageFields` found), at any depth; other values are kept as they are. */
export function withoutImages<T>(value: T, fields: ImageFields): T {
  if (Array.isArray(value)) return value.map((item) => withoutImages(item, fields)) as T;
  if (value === null || typeof value !== 'object') return value;
  const kept: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (!fields.images.has(key) && !fields.imageMaps.has(key)) kept[key] = withoutImages(child, fields);
  }
  return kept as T;
}

/** PaddleX's DetResult JSON of a layout model (`layout_det_res`): its boxes with class id, label, score and coordinate. */
export const layoutDetResult = z.object({
  boxes: z.array(
    z.object({
      cls_id: z.number().int(),
      label: z.string(),
      score: z.number(),
      coordinate: boundingBox,
    }),
  ),
});

/** One entry of PaddleX's `formula_res_list` (formula recognition, and layout parsing's formula blocks). */
export const formulaResEntry = z.object({
  rec_formula: z.string(),
  formula_region_id: z.number().int(),
  // PaddleX wraps the layout box in a 1-tuple: [[x1, y1, x2, y2]]
  dt_polys: z.array(z.tuple([z.number(), z.number(), z.number(), z.number()])).optional(),
});
