import type { z } from 'zod';
import { ApiError } from '../errors.js';

/** One entry of a pydantic v2 error list, the shape FastAPI (and so PaddleX) returns in 422 errorMsg. */
export interface PydanticError {
  type: string;
  loc: Array<string | number>;
  msg: string;
  input?: unknown;
  ctx?: Record<string, unknown>;
}

/** At most this many errors are listed; more are summed up in one last entry. */
export const MAX_LISTED_ERRORS = 20;
/** errorMsg never grows past this many characters, whatever the request held. */
export const MAX_ERROR_MESSAGE_CHARS = 16 * 1024;

/** The errors that fit both caps, with a last `too_many_errors` entry saying how many were left out. */
function listErrors(errors: PydanticError[]): string {
  const listed: string[] = [];
  let chars = 2; // the brackets
  for (const error of errors) {
    const text = JSON.stringify(error);
    // room is kept for the summary entry, which is under 200 characters
    const fits = chars + text.length + 1 <= MAX_ERROR_MESSAGE_CHARS - 200;
    if (listed.length === MAX_LISTED_ERRORS || (!fits && listed.length > 0)) break;
    listed.push(fits ? text : JSON.stringify({ ...error, input: '...' }));
    chars += listed.at(-1)!.length + 1;
  }
  const omitted = errors.length - listed.length;
  if (omitted > 0) {
    listed.push(JSON.stringify({ type: 'too_many_errors', loc: ['body'], msg: `${omitted} more errors not listed`, input: null }));
  }
  return `[${listed.join(',')}]`;
}

/** 422 whose errorMsg is the JSON text of a pydantic-style error list, bounded in length. */
export class ValidationError extends ApiError {
  constructor(readonly errors: PydanticError[]) {
    super(422, listErrors(errors));
    this.name = 'ValidationError';
  }
}

const ECHO_STRING_CHARS = 100;
const ECHO_ENTRIES = 10;

/**
 * The `input` pydantic echoes, kept small whatever the client sent: long strings (Base64 images) cut,
 * containers shown one level deep with their first entries, deeper ones as `[...]` / `{...}`.
 */
function echo(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.length > ECHO_STRING_CHARS ? `${value.slice(0, ECHO_STRING_CHARS)}...` : value;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    if (depth > 0) return '[...]';
    const shown = value.slice(0, ECHO_ENTRIES).map((v) => echo(v, depth + 1));
    return value.length > ECHO_ENTRIES ? [...shown, '...'] : shown;
  }
  if (depth > 0) return '{...}';
  const shown: Record<string, unknown> = {};
  let count = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (count++ === ECHO_ENTRIES) {
      shown['...'] = '...';
      break;
    }
    shown[key.length > ECHO_STRING_CHARS ? `${key.slice(0, ECHO_STRING_CHARS)}...` : key] = echo(
      (value as Record<string, unknown>)[key],
      depth + 1,
    );
  }
  return shown;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: any = root;
  for (const key of path) v = v == null ? undefined : v[key as any];
  return v;
}

const TYPE_NAMES: Record<string, [string, string]> = {
  string: ['string_type', 'Input should be a valid string'],
  number: ['float_type', 'Input should be a valid number'],
  int: ['int_type', 'Input should be a valid integer'],
  boolean: ['bool_type', 'Input should be a valid boolean'],
  object: ['dict_type', 'Input should be a valid dictionary'],
  record: ['dict_type', 'Input should be a valid dictionary'],
  array: ['list_type', 'Input should be a valid list'],
};

/** pydantic's greater_than(_equal) / less_than(_equal) error, e.g. `Input should be greater than or equal to 1` with ctx `{ge: 1}`. */
function boundError(
  side: 'greater' | 'less',
  inclusive: boolean | undefined,
  limit: unknown,
  loc: PydanticError['loc'],
  input: unknown,
): PydanticError {
  const ctxKey = (side === 'greater' ? 'g' : 'l') + (inclusive ? 'e' : 't');
  return {
    type: `${side}_than${inclusive ? '_equal' : ''}`,
    loc,
    msg: `Input should be ${side} than ${inclusive ? 'or equal to ' : ''}${String(limit)}`,
    input: echo(input),
    ctx: { [ctxKey]: limit },
  };
}

function toPydantic(issue: z.core.$ZodIssue, body: unknown): PydanticError {
  // keys are client-chosen: a megabyte-long one must not make the error as long
  const loc: Array<string | number> = ['body', ...issue.path.map((p) => (typeof p === 'number' ? p : (echo(String(p)) as string)))];
  const input = valueAt(body, issue.path);
  switch (issue.code) {
    case 'invalid_type': {
      if (input === undefined) return { type: 'missing', loc, msg: 'Field required', input: echo(body) };
      const [type, msg] = TYPE_NAMES[issue.expected] ?? ['type_error', `Input should be of type ${issue.expected}`];
      return { type, loc, msg, input: echo(input) };
    }
    case 'too_small':
      return boundError('greater', issue.inclusive, issue.minimum, loc, input);
    case 'too_big':
      return boundError('less', issue.inclusive, issue.maximum, loc, input);
    case 'invalid_value':
      return {
        type: 'literal_error',
        loc,
        msg: `Input should be ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}`,
        input: echo(input),
      };
    default:
      return { type: 'value_error', loc, msg: issue.message, input: echo(input) };
  }
}

/** Parse a request body with its schema; failures become PaddleX's 422 with a pydantic-style list. */
export function validateBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError([
      {
        type: 'model_attributes_type',
        loc: ['body'],
        msg: 'Input should be a valid dictionary or object to extract fields from',
        input: echo(body),
      },
    ]);
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new ValidationError(parsed.error.issues.map((i) => toPydantic(i, body)));
}

/** FastAPI's error for a body that is not JSON: loc is ['body', <character position of the problem>]. */
export function invalidJson(reason: string, position = 0): ValidationError {
  return new ValidationError([
    { type: 'json_invalid', loc: ['body', position], msg: 'JSON decode error', input: {}, ctx: { error: reason } },
  ]);
}
