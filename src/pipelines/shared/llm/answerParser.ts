/**
 * PaddleX's OpenAIBotChat.fix_llm_result_format: how an LLM's answer becomes key → value pairs,
 * including its repairs of malformed JSON (fences and brackets dropped, then a regex over
 * `"key": "value"` pairs). Python semantics are kept where they decide the outcome: a JSON string
 * goes to the regex path decoded; JSON that is an array, a number, true/false/null, or a 问题/答案
 * object of the wrong types makes PaddleX's chat raise (a 500 there), a 502 naming the problem here.
 */
import { ApiError } from '../../../errors.js';
import { pythonStrip } from './pythonText.js';

export type LlmAnswer = Record<string, unknown>;

const QUESTION = '问题';
const ANSWER = '答案';

function unusable(what: string): ApiError {
  return new ApiError(502, `The LLM's answer cannot be read as key-value pairs: ${what}`);
}

/** `{"问题": key, "答案": value}` → `{key: value}`, the value stripped of the key's characters. */
function questionAnswer(parsed: Record<string, unknown>): LlmAnswer {
  const key = parsed[QUESTION];
  let value = parsed[ANSWER];
  if (typeof key !== 'string') throw unusable('its "问题" is not a string');
  if (Array.isArray(value)) {
    if (value.length === 0) return {};
    value = value[0];
  }
  if (typeof value !== 'string') throw unusable('its "答案" is not a string');
  return { [key]: pythonStrip(pythonStrip(value, `${key}:`), key) };
}

function fromObject(record: Record<string, unknown>): LlmAnswer {
  if (Object.hasOwn(record, QUESTION) && Object.hasOwn(record, ANSWER)) return questionAnswer(record);
  // no prototype: keys such as "__proto__" stay plain keys
  const result: LlmAnswer = Object.create(null);
  for (const [key, value] of Object.entries(record)) {
    if (!Array.isArray(value)) result[key] = value;
    else if (value.length > 0) result[key] = value[0];
  }
  return result;
}

function fromPairs(answer: string): LlmAnswer {
  let flat = answer.replaceAll('\n', '').replaceAll('    ', '').replaceAll('{', '').replaceAll('}', '');
  if (!flat.endsWith('"')) flat += '"';
  // Python's `.` is any character but \n (already removed): [^\n] keeps \r as Python does
  const pairs = [...flat.matchAll(/"([^\n]*?)": "([^"]*)"/g)];
  if (!pairs.length) return {};
  const record: Record<string, string> = Object.create(null);
  for (const [, key, value] of pairs) record[key!] = value!;
  return QUESTION in record && ANSWER in record ? questionAnswer(record) : record;
}

export function parseLlmAnswer(answer: string | null | undefined): LlmAnswer {
  if (!answer) return {};
  let text = answer;
  if (text.includes('json') || text.includes('```')) {
    const start = text.indexOf('{');
    if (start !== -1) text = text.slice(start);
    const end = text.lastIndexOf('}');
    if (end !== -1) text = text.slice(0, end + 1);
    text = text.replaceAll('```', '').replaceAll('json', '').replaceAll('/n', '').replaceAll('[', '').replaceAll(']', '');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fromPairs(text);
  }
  if (typeof parsed === 'string') return fromPairs(parsed);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw unusable(`it is JSON ${Array.isArray(parsed) ? 'array' : String(parsed)}, not an object`);
  }
  return fromObject(parsed as Record<string, unknown>);
}
