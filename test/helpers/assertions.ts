import assert from 'node:assert/strict';
import { ApiError } from '../../src/errors.js';

/** Assert that `run` throws or rejects with a 422 ApiError whose message matches `pattern`; returns that error. */
export async function rejects422(run: () => Promise<unknown> | unknown, pattern: RegExp): Promise<ApiError> {
  let caught: unknown;
  try {
    await run();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ApiError, `expected an ApiError, got ${String(caught)}`);
  assert.equal(caught.status, 422);
  assert.match(caught.message, pattern);
  return caught;
}
