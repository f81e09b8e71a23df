/**
 * What the playground reads from `/openapi.json`: the POST endpoints, the form controls of their
 * request fields, where the input file goes (the `x-pipeserve-input` extension) and which result
 * fields hold Base64 images (the `x-content-media-type` extension).
 */

export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  additionalProperties?: JsonSchema | boolean;
  enum?: Array<string | number | null>;
  minimum?: number;
  maximum?: number;
  description?: string;
  'x-pipeserve-input'?: { kind: 'image' | 'document' | 'csv' | 'audio' | 'video' | 'tar' | 'none'; field: string };
  'x-content-media-type'?: string;
}

interface Operation {
  summary?: string;
  requestBody: { content: { 'application/json': { schema: JsonSchema } } };
  responses: Record<string, { content?: { 'application/json'?: { schema: JsonSchema } } }>;
}

export interface OpenApiDocument {
  paths: Record<string, { post?: Operation }>;
  components?: { securitySchemes?: Record<string, unknown> };
}

/** A request field as the form edits it: `json` takes any JSON (arrays, objects, unions of them). */
export type Control =
  | { kind: 'boolean' }
  | { kind: 'enum'; options: Array<string | number> }
  | { kind: 'number'; integer: boolean; min?: number; max?: number }
  | { kind: 'string' }
  | { kind: 'json' };

export interface FormField {
  name: string;
  required: boolean;
  control: Control;
}

export interface Endpoint {
  path: string;
  summary: string;
  /** the field that carries the dropped file, and what it takes; `none`: no file (e.g. index removal) */
  input: { kind: 'image' | 'document' | 'csv' | 'audio' | 'video' | 'tar' | 'none'; field: string };
  /** the other request fields */
  fields: FormField[];
  images: ImageFields;
}

/** Result keys that hold a Base64 image, and keys that hold maps of them (`outputImages`). */
export interface ImageFields {
  images: Set<string>;
  imageMaps: Set<string>;
}

// zod's OpenAPI 3.0 output keeps integers inside JavaScript's safe range: not a bound worth showing
const SAFE_INTEGER = 2 ** 53 - 1;
const shownBound = (n: number | undefined) => (n !== undefined && Math.abs(n) < SAFE_INTEGER ? n : undefined);

function controlOf(schema: JsonSchema): Control {
  if (schema.anyOf || schema.oneOf) return { kind: 'json' };
  const values = schema.enum?.filter((v): v is string | number => v !== null);
  if (values?.length) return { kind: 'enum', options: values };
  switch (schema.type) {
    case 'boolean':
      return { kind: 'boolean' };
    case 'integer':
    case 'number':
      return { kind: 'number', integer: schema.type === 'integer', min: shownBound(schema.minimum), max: shownBound(schema.maximum) };
    case 'string':
      return { kind: 'string' };
    default:
      return { kind: 'json' };
  }
}

function imageFieldsOf(schema: JsonSchema | undefined): ImageFields {
  const found: ImageFields = { images: new Set(), imageMaps: new Set() };
  const isImage = (node: unknown) => String((node as JsonSchema | undefined)?.['x-content-media-type'] ?? '').startsWith('image/');
  const visit = (node: JsonSchema | undefined): void => {
    if (!node || typeof node !== 'object') return;
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      if (isImage(child)) found.images.add(name);
      else if (isImage(child.additionalProperties)) found.imageMaps.add(name);
      visit(child);
    }
    for (const list of [node.anyOf, node.oneOf, node.allOf]) list?.forEach(visit);
    visit(node.items);
    if (typeof node.additionalProperties === 'object') visit(node.additionalProperties);
  };
  visit(schema);
  return found;
}

export function endpointsOf(document: OpenApiDocument): Endpoint[] {
  const endpoints: Endpoint[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    const operation = item.post;
    // `/jobs/...` submits the same body as an async job: the playground runs the endpoints themselves
    if (!operation || path.startsWith('/jobs/')) continue;
    const request = operation.requestBody.content['application/json'].schema;
    const input = request['x-pipeserve-input'] ?? { kind: 'none', field: '' };
    const required = new Set(request.required ?? []);
    const fields = Object.entries(request.properties ?? {})
      .filter(([name]) => input.kind === 'none' || name !== input.field)
      .map(([name, schema]) => ({ name, required: required.has(name), control: controlOf(schema) }));
    const envelope = operation.responses['200']?.content?.['application/json']?.schema;
    endpoints.push({ path, summary: operation.summary ?? '', input, fields, images: imageFieldsOf(envelope?.properties?.result) });
  }
  return endpoints;
}

/** The value a form field's text stands for; undefined = leave the field out (the server's default). */
export function fieldValue(field: FormField, text: string): unknown {
  if (text === '') return undefined;
  switch (field.control.kind) {
    case 'boolean':
      return text === 'true';
    case 'number':
      return Number(text);
    case 'enum': {
      const option = field.control.options.find((o) => String(o) === text);
      return option ?? text;
    }
    case 'string':
      return text;
    case 'json':
      try {
        return JSON.parse(text);
      } catch {
        throw new Error(`${field.name}: not valid JSON`);
      }
  }
}

export interface FoundImage {
  /** where it is in the result, e.g. `ocrResults[0].ocrImage` */
  path: string;
  dataUrl: string;
}

function dataUrl(base64: string): string {
  // PNG's signature in Base64 starts "iVBORw0KGgo"; the rest of the result images are JPEG
  return `data:${base64.startsWith('iVBORw0KGgo') ? 'image/png' : 'image/jpeg'};base64,${base64}`;
}

/**
 * The result's images (by the result schema's annotations) and the result with each of them
 * replaced by a short note, so the JSON view stays readable and fast.
 */
export function splitImages(result: unknown, fields: ImageFields): { images: FoundImage[]; json: unknown } {
  const images: FoundImage[] = [];
  const note = (path: string, base64: string) => {
    images.push({ path, dataUrl: dataUrl(base64) });
    return `<image, ${Math.round((base64.length * 3) / 4 / 1024)} KB: shown beside>`;
  };
  const walk = (value: unknown, path: string): unknown => {
    if (Array.isArray(value)) return value.map((v, i) => walk(v, `${path}[${i}]`));
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      const here = path ? `${path}.${key}` : key;
      if (fields.images.has(key) && typeof v === 'string') out[key] = note(here, v);
      else if (fields.imageMaps.has(key) && v && typeof v === 'object') {
        out[key] = Object.fromEntries(Object.entries(v).map(([name, img]) => [name, note(`${here}.${name}`, String(img))]));
      } else out[key] = walk(v, here);
    }
    return out;
  };
  return { json: walk(result, ''), images };
}
