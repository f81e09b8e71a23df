/**
 * The other end of `npm run bench:ipc`, in a child process: answers IPC messages with a small
 * result (as an inference instance answers a task), and serves HTTP POSTs by draining the body and
 * sending a canned classification envelope (to price the benchmark's own HTTP client).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const CANNED = JSON.stringify({
  logId: '00000000-0000-4000-8000-000000000000',
  result: { categories: [{ id: 285, name: 'Egyptian cat', score: 0.61 }] },
  errorCode: 0,
  errorMsg: 'Success',
});

process.on('message', (msg: { id: number }) => {
  process.send?.({ type: 'result', id: msg.id, ok: true, value: { categories: [{ id: 285, name: 'Egyptian cat', score: 0.61 }] }, rss: 0 });
});
process.on('disconnect', () => process.exit(0));

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(CANNED));
});
server.listen(0, '127.0.0.1', () => process.send?.({ type: 'listening', port: (server.address() as AddressInfo).port }));
