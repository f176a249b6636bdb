// A whole cluster stopped at once — a rollout, a scale-down, `kubectl
// delete` — while clients talk: every node must exit on its own, with code
// 0, while its peers vanish around it (discovery reconnecting, replicates
// in flight). A node still running 15 s after SIGTERM fails the test; the
// shutdown once hung in about 1 of 6 such stops (docs/fault-tolerance.md,
// "How a node stops"), so it is repeated.

import assert from 'node:assert/strict';
import { after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { connect, unique } from './lib/client.mjs';
import { cluster } from './lib/node.mjs';
import { cleanup, test } from './lib/test.mjs';

const ROUNDS = 3;
const CLIENTS_PER_NODE = 4;
const EXIT_BOUND_MS = 15_000;

after(cleanup);

test('a whole cluster stopped at once under load exits on its own with code 0, round after round', { timeout: 240_000 }, async () => {
  for (let round = 1; round <= ROUNDS; round++) {
    const nodes = await cluster(3, { prefix: `stop${round}x`, flags: { 'drain-grace-ms': 300 } });
    const room = unique('stop');
    const clients = [];
    for (const [i, node] of nodes.entries())
      for (let k = 0; k < CLIENTS_PER_NODE; k++) clients.push(await connect(node, { user: unique(`u${i}`), rooms: [room] }));
    for (const c of clients) await c.awaitJoined([room]);

    let loading = true;
    const load = clients.map(async (c, i) => {
      for (let q = 1; loading && c.isOpen; q++) {
        await c.send({ type: 'message', room, text: `load ${i} ${q}`, client_id: unique('cid') }).catch(() => {});
        await c.send({ type: 'typing', room, state: 'start' }).catch(() => {});
        await sleep(60);
      }
    });
    await sleep(1500);

    const started = Date.now();
    for (const node of nodes) node.kill('SIGTERM');
    const exits = await Promise.all(nodes.map((node) => node.waitExit(EXIT_BOUND_MS)));
    loading = false;
    await Promise.all(load);
    for (const [i, exit] of exits.entries()) {
      assert.ok(exit, `round ${round}: ${nodes[i].name} still running ${Date.now() - started} ms after SIGTERM`);
      assert.equal(exit.code, 0, `round ${round}: ${nodes[i].name} exited cleanly: ${JSON.stringify(exit)}`);
    }
  }
});
