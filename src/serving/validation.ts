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

/** 422 whose errorMsg is the JSON text of a pydantic-style error list. */
export class ValidationError extends ApiError {
  constructor(readonly errors: PydanticError[]) {
    super(422, JSON.stringify(errors));
    this.name = 'ValidationError';
  }
}

/** Long strings (Base64 images) are cut in echoed inputs so an error stays small. */
function echo(value: unknown): unknown {
  if (typeof value === 'string' && value.length > 100) return `${value.slice(0, 100)}...`;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'string' ? echo(v) : Array.isArray(v) ? '[...]' : v]));
  }
  return value;
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
  const loc: Array<string | number> = ['body', ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
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

export function invalidJson(reason: string): ValidationError {
  return new ValidationError([{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {}, ctx: { error: reason } }]);
}
