/**
 * The overload's filler clients, run by `measureOverload` in a process of their own at the instances'
 * low priority: on this 2-core machine the load generator would otherwise take CPU from the server it
 * measures, where real clients run on other machines. Receives its orders and returns its outcomes
 * over IPC.
 */
import { Pool } from 'undici';
import { closedLoop } from './overload.js';

interface FillerOrders {
  origin: string;
  path: string;
  body: Uint8Array;
  lanes: number;
  durationMs: number;
}

process.once('message', async (orders: FillerOrders) => {
  const client = new Pool(orders.origin, { connections: orders.lanes, pipelining: 1 });
  try {
    const item = [{ kind: 'overload', body: Buffer.from(orders.body) }];
    const outcomes = await closedLoop(client, orders.path, item, orders.lanes, performance.now() + orders.durationMs);
    process.send!(outcomes, () => process.exit(0));
  } finally {
    await client.close();
  }
});
