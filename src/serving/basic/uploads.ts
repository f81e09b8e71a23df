/**
 * Uploads without Base64, for every endpoint whose descriptor names a file input (`input: {kind, field}`):
 * `multipart/form-data` (the file as the part named like the field, the other fields as form values) and
 * a raw body (`Content-Type: image/*`, `application/pdf`, `text/csv`) with the other fields as query
 * parameters. Bodies are read with the same size cap as JSON ones, in memory (nothing touches the disk),
 * then turned into the request the endpoint's schema checks: the file's bytes go to the handler's
 * `loadInput` as they are, the form values become the schema's types.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Busboy, type BusboyHeaders, type BusboyInstance } from '@fastify/busboy';
import { z } from 'zod';
import { ApiError, invalidInput } from '../../errors.js';
import { uploadedFileKind } from '../../io/fileType.js';
import type { EndpointSpec, InputKind } from '../../pipelines/define.js';
import { ValidationError } from '../validation.js';
import { bodyTooLarge, JsonBodyWithFile } from './jsonBody.js';

/** A file part of a multipart body, or a raw body. */
export interface UploadedFile {
  bytes: Uint8Array;
  /** the part's or the body's media type, lower-case, without parameters */
  mediaType: string;
  filename: string;
}

/** A parsed `multipart/form-data` body: text values by name (a name may repeat), file parts by name. */
export class MultipartBody {
  constructor(
    readonly fields: ReadonlyMap<string, string[]>,
    readonly files: ReadonlyMap<string, UploadedFile[]>,
  ) {}
}

/** A body that is the file itself; the other request fields come from the query string. */
export class RawFileBody {
  constructor(readonly file: UploadedFile) {}
}

/** Media types a raw body may have, by the endpoint's input kind (`type/*` = any subtype). */
const RAW_MEDIA_TYPES: Record<InputKind, string[]> = {
  image: ['image/*'],
  document: ['image/*', 'application/pdf'],
  csv: ['text/csv'],
  audio: ['audio/*'],
  video: ['video/*'],
  tar: ['application/x-tar'],
  none: [],
};

/** Raw body media types an endpoint takes (for OpenAPI); none for endpoints without a file input. */
export function rawMediaTypes(kind: InputKind): readonly string[] {
  return RAW_MEDIA_TYPES[kind];
}

const mediaTypeFits = (accepted: readonly string[], mediaType: string) =>
  accepted.some((type) => (type.endsWith('/*') ? mediaType.startsWith(type.slice(0, -1)) : mediaType === type));

/** Content types read as a raw file body (any other non-multipart body is read as JSON, as FastAPI does). */
export const RAW_FILE_CONTENT_TYPE = /^\s*((image|audio|video)\/[^\s;]+|application\/pdf|text\/csv)\s*(;|$)/i;

/** multipart parts: files plus form values; real requests have a dozen */
const MAX_PARTS = 1000;

const mediaTypeOf = (contentType: string | undefined) => (contentType ?? '').split(';')[0]!.trim().toLowerCase();

function malformed(reason: string): ApiError {
  return new ApiError(400, `There was an error parsing the body: malformed multipart/form-data (${reason})`);
}

/**
 * Reads a multipart body with the server's size cap: refused with 413 before reading when its declared
 * length is over it, and as soon as the bytes received pass it. Other problems (bad boundary, broken
 * part headers, a truncated body) are 400, answered once the client has sent its body.
 */
export function readMultipart(stream: Readable, headers: IncomingHttpHeaders, maxBytes: number): Promise<MultipartBody> {
  return new Promise((resolve, reject) => {
    if (Number(headers['content-length']) > maxBytes) return reject(bodyTooLarge(maxBytes));
    const fields = new Map<string, string[]>();
    const files = new Map<string, UploadedFile[]>();
    let received = 0;
    let settled = false;
    let refusal: ApiError | undefined;
    let ended = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      stream.off('data', count).off('end', onEnd).off('error', onError);
      outcome();
    };
    // A refused body is still read to its end (and dropped), so the client gets the answer, not a broken pipe.
    const refuse = (err: ApiError) => {
      refusal ??= err;
      if (ended) return settle(() => reject(refusal));
      stream.unpipe();
      stream.resume();
    };
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= maxBytes) return;
      stream.unpipe();
      settle(() => reject(bodyTooLarge(maxBytes)));
    };
    // the parser may find the body truncated only after its end
    const onEnd = () => {
      ended = true;
      if (refusal) settle(() => reject(refusal));
    };
    const onError = (err: Error) => settle(() => reject(new ApiError(400, `The request body could not be read (${err.message})`)));
    stream.on('data', count).on('end', onEnd).on('error', onError);

    let parser: BusboyInstance;
    try {
      parser = Busboy({
        headers: headers as BusboyHeaders,
        limits: { parts: MAX_PARTS, fieldSize: maxBytes, fileSize: maxBytes, headerPairs: 100 },
      });
    } catch (err) {
      return refuse(malformed((err as Error).message));
    }
    parser.on('field', (name, value) => fields.set(name, [...(fields.get(name) ?? []), value]));
    parser.on('file', (name, file, filename, _encoding, mimeType) => {
      const chunks: Buffer[] = [];
      file.on('data', (chunk: Buffer) => chunks.push(chunk));
      file.on('error', (err: Error) => refuse(malformed(err.message)));
      file.on('end', () => {
        const uploaded = { bytes: Buffer.concat(chunks), mediaType: mediaTypeOf(mimeType), filename: filename ?? '' };
        files.set(name, [...(files.get(name) ?? []), uploaded]);
      });
    });
    parser.on('partsLimit', () => refuse(new ApiError(413, `The multipart body has more than ${MAX_PARTS} parts`)));
    parser.on('error', (err) => refuse(malformed((err as Error).message)));
    parser.on('finish', () => {
      if (!refusal) settle(() => resolve(new MultipartBody(fields, files)));
    });
    stream.pipe(parser);
  });
}

/** Reads a raw file body with the server's size cap (413 before reading when the declared length is over it). */
export function readRawFile(stream: Readable, headers: IncomingHttpHeaders, maxBytes: number): Promise<RawFileBody> {
  return new Promise((resolve, reject) => {
    if (Number(headers['content-length']) > maxBytes) return reject(bodyTooLarge(maxBytes));
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (outcome: () => void) => {
      stream.off('data', onData).off('end', onEnd).off('error', onError);
      outcome();
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) return finish(() => reject(bodyTooLarge(maxBytes)));
      chunks.push(chunk);
    };
    const onEnd = () =>
      finish(() =>
        resolve(new RawFileBody({ bytes: Buffer.concat(chunks), mediaType: mediaTypeOf(headers['content-type']), filename: '' })),
      );
    const onError = (err: Error) => finish(() => reject(new ApiError(400, `The request body could not be read (${err.message})`)));
    stream.on('data', onData).once('end', onEnd).once('error', onError);
  });
}

type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'object' | 'null';

/** The JSON types each top-level request field accepts, from the request schema. */
export type FieldTypes = ReadonlyMap<string, ReadonlySet<JsonType>>;

export function fieldTypes(request: z.ZodType): FieldTypes {
  const schema = z.toJSONSchema(request, { io: 'input', unrepresentable: 'any', target: 'openapi-3.0' }) as {
    properties?: Record<string, unknown>;
  };
  const types = new Map<string, Set<JsonType>>();
  const collect = (node: any, into: Set<JsonType>): void => {
    if (!node || typeof node !== 'object') return;
    if (node.nullable) into.add('null');
    for (const type of [node.type].flat()) if (type) into.add(type);
    for (const key of ['anyOf', 'oneOf', 'allOf']) for (const child of node[key] ?? []) collect(child, into);
  };
  for (const [name, node] of Object.entries(schema.properties ?? {})) {
    const accepted = new Set<JsonType>();
    collect(node, accepted);
    types.set(name, accepted);
  }
  return types;
}

/** pydantic's lax booleans, which FastAPI applies to form values */
const TRUE_WORDS = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE_WORDS = new Set(['0', 'off', 'f', 'false', 'n', 'no']);
const NUMBER_TEXT = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/**
 * A form or query value as the type its field takes: kept as text where a string is accepted, else
 * `null`/empty → null, a boolean word, a number, or JSON text for arrays and objects. Text that fits
 * none stays text, so the schema reports the field's type error as it would for JSON.
 */
export function formValue(text: string, accepted: ReadonlySet<JsonType> | undefined): unknown {
  if (!accepted || accepted.has('string')) return text;
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'null') return null;
  const word = trimmed.toLowerCase();
  if (accepted.has('boolean') && (TRUE_WORDS.has(word) || FALSE_WORDS.has(word))) return TRUE_WORDS.has(word);
  if ((accepted.has('number') || accepted.has('integer')) && NUMBER_TEXT.test(trimmed)) return Number(trimmed);
  if ((accepted.has('array') || accepted.has('object')) && /^[[{]/.test(trimmed)) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return text;
    }
  }
  return text;
}

/** What an upload becomes: the JSON-shaped body the endpoint validates, and the files its placeholders stand for. */
export interface UploadRequest {
  body: Record<string, unknown>;
  uploads: Map<string, Uint8Array>;
}

function singleValues(values: Iterable<[string, string | string[] | undefined]>, types: FieldTypes): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const repeated: string[] = [];
  for (const [name, value] of values) {
    if (value === undefined) continue;
    const list = [value].flat();
    if (list.length > 1) repeated.push(name);
    body[name] = formValue(list.at(-1)!, types.get(name));
  }
  if (repeated.length) {
    throw new ValidationError(
      repeated.map((name) => ({ type: 'value_error', loc: ['body', name], msg: 'Value error, given more than once', input: null })),
    );
  }
  return body;
}

/**
 * The request an upload stands for. The file field holds a placeholder that `loadInput` resolves to the
 * uploaded bytes; a document's `fileType`, when not given, comes from the file's media type or name.
 */
export function uploadRequest(
  parsed: MultipartBody | RawFileBody,
  query: Record<string, string | string[] | undefined>,
  endpoint: EndpointSpec,
  types: FieldTypes,
): UploadRequest {
  const { kind, field } = endpoint.input;
  const rawTypes = RAW_MEDIA_TYPES[kind];
  if (!rawTypes.length) throw new ApiError(415, `${endpoint.path} takes a JSON body only: its input (${field}) is not one file`);
  let file: UploadedFile | undefined;
  let body: Record<string, unknown>;
  if (parsed instanceof RawFileBody) {
    file = parsed.file;
    if (!mediaTypeFits(rawTypes, file.mediaType)) {
      throw new ApiError(
        415,
        `Unsupported Media Type: ${endpoint.path} takes its ${field} as ${rawTypes.join(' or ')} in a raw body (or as multipart/form-data or JSON), not ${file.mediaType}`,
      );
    }
    body = singleValues(Object.entries(query), types);
  } else {
    const unexpected = [...parsed.files.keys()].filter((name) => name !== field);
    if (unexpected.length) {
      throw new ValidationError(
        unexpected.map((name) => ({
          type: 'value_error',
          loc: ['body', name],
          msg: `Value error, a file part here is not expected (the file goes in "${field}")`,
          input: null,
        })),
      );
    }
    const parts = parsed.files.get(field) ?? [];
    if (parts.length > 1 || (parts.length && parsed.fields.has(field))) {
      throw new ValidationError([{ type: 'value_error', loc: ['body', field], msg: 'Value error, given more than once', input: null }]);
    }
    file = parts[0];
    body = singleValues(parsed.fields.entries(), types);
  }
  const uploads = new Map<string, Uint8Array>();
  if (file) {
    if (file.bytes.length === 0) throw invalidInput(`${field}: the uploaded file is empty`);
    const placeholder = `uploaded-file:${randomUUID()}`;
    body[field] = placeholder;
    uploads.set(placeholder, file.bytes);
    if (kind === 'document' && body.fileType == null) {
      const fileKind = uploadedFileKind(file.mediaType, file.filename);
      if (fileKind) body.fileType = fileKind === 'pdf' ? 0 : 1;
    }
  }
  return { body, uploads };
}

/**
 * The request a parsed body stands for: an upload turned into fields, or the JSON body as it is (absent
 * = pydantic's "Field required" for the body, as FastAPI answers an empty body).
 */
export function endpointRequest(
  parsed: unknown,
  query: unknown,
  endpoint: EndpointSpec,
  types: FieldTypes,
): { body: unknown; uploads?: Map<string, Uint8Array> } {
  if (parsed instanceof MultipartBody || parsed instanceof RawFileBody) {
    return uploadRequest(parsed, (query ?? {}) as Record<string, string | string[] | undefined>, endpoint, types);
  }
  if (parsed instanceof JsonBodyWithFile) return { body: parsed.value, uploads: new Map([[parsed.placeholder, parsed.bytes]]) };
  if (parsed === undefined) throw new ValidationError([{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }]);
  return { body: parsed };
}

type JsonObject = Record<string, any>;

/**
 * OpenAPI of an endpoint's request from its JSON schema: JSON as PaddleX has it, and for a file input
 * also multipart/form-data (the file as a binary part) and a raw file body with the other fields as
 * query parameters.
 */
export function requestSchemas(
  json: JsonObject,
  input: { kind: InputKind; field: string },
): { body: JsonObject; querystring?: JsonObject } {
  const { kind, field } = input;
  const rawTypes = rawMediaTypes(kind);
  if (!rawTypes.length) return { body: json };
  const binary = { type: 'string', format: 'binary' };
  const { [field]: _file, ...others } = json.properties as JsonObject;
  const query = Object.fromEntries(
    Object.entries(others).map(([name, schema]) => [
      name,
      { ...schema, description: `with a raw ${rawTypes.join(' or ')} body only (arrays and objects as JSON text)` },
    ]),
  );
  return {
    body: {
      content: {
        'application/json': { schema: json },
        'multipart/form-data': {
          schema: { ...json, properties: { ...json.properties, [field]: { ...binary, description: `the ${field} as a file part` } } },
        },
        ...Object.fromEntries(rawTypes.map((type) => [type, { schema: { ...binary, description: `the ${field} itself` } }])),
      },
    },
    querystring: { type: 'object', properties: query },
  };
}
