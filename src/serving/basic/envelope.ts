import { randomUUID } from 'node:crypto';

/** PaddleX's envelope without a result: errors (HTTP status = errorCode) and /health (errorCode 0). */
export function errorEnvelope(status: number, message: string): { logId: string; errorCode: number; errorMsg: string } {
  return { logId: randomUUID(), errorCode: status, errorMsg: message };
}
