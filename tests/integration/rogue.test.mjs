// The peer-protocol checks of the process-group scope, against a rogue CAF
// program (tests/attack/rogue_node.cpp) on a PLAINTEXT cluster. In plaintext
// mode a rogue can still become a peer by the normal protocol: that is why
// cluster TLS exists (tls.test.mjs). What these checks stop is everything
// beyond that: speaking in another scope's name, using the local API from
// another node, claiming members of another node, invalid group and user
// names, forged down messages and forged node events.
//
// The rogue sends all its attacks from one actor, then a legitimate join of
// its own member (room:rogue-control) as a control: once that shows in A's
// /api/cluster, A has handled everything before it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { converge } from './lib/checks.mjs';
import { QUIET_MS, connect, unique } from './lib/client.mjs';
import { TOOLS_DIR, cluster, clusterInfo, waitFor } from './lib/node.mjs';
import { cleanup, test } from './lib/test.mjs';

const ROGUE_BIN = process.env.ROGUE_BIN || path.join(TOOLS_DIR, 'rogue_node');
const ROOM = 'lobby';
let A;
let B;
let rogue;

before(async () => {
  [A, B] = await cluster(2, { prefix: 'r' });
});
after(async () => {
  if (rogue && rogue.exitCode === null && rogue.signalCode === null) rogue.kill('SIGKILL');
  await cleanup();
});

test('a rogue peer cannot impersonate a scope, use the local API, or claim what is not its own', { timeout: 60_000 }, async () => {
  assert.ok(fs.existsSync(ROGUE_BIN), `rogue_node not found at ${ROGUE_BIN} (build it, or set ROGUE_BIN)`);
  const onA = await connect(A, { user: unique('ann'), rooms: [ROOM] });
  const onB = await connect(B, { user: unique('bob'), rooms: [ROOM] });
  await converge([onA, onB], ROOM, [onA.welcome.user, onB.welcome.user]);
  // The node monitor publishes room membership within 200 ms.
  const settled = async (node) => {
    const info = await clusterInfo(node);
    return info.groups.chat_servers === 2 && info.groups[`room:${ROOM}`] === 2 && info;
  };
  await waitFor(() => settled(A), 10_000, { what: 'A to show both chat servers and both members' });
  const beforeB = await waitFor(() => settled(B), 10_000, { what: 'B to show both chat servers and both members' });

  const [aHost, aPort] = A.clusterAddr.split(':');
  const [bHost, bPort] = B.clusterAddr.split(':');
  // The rogue stays connected until its stdin closes; killed by PID at the latest in `finally`.
  rogue = spawn(ROGUE_BIN, [aHost, aPort, bHost, bPort], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  rogue.stdout.on('data', (c) => (out += c));
  rogue.stderr.on('data', (c) => (err += c));
  await waitFor(() => out.includes('\n') || rogue.exitCode !== null, 30_000, { what: 'the rogue to report' });
  assert.ok(out.includes('\n'), `rogue_node failed (${rogue.exitCode}): ${err}`);
  const ids = JSON.parse(out.trim().split('\n')[0]);
  assert.equal(ids.ok, true, `rogue_node: ${out} ${err}`);

  // The control: the rogue is a peer (plaintext) and its own member counts.
  await waitFor(async () => (await clusterInfo(A)).groups['room:rogue-control'] === 1, 10_000, {
    what: "the rogue's legitimate join on A",
  });
  await sleep(QUIET_MS); // the node monitor's copy of forged node events, if any

  const after_ = await clusterInfo(A);
  // Impersonated rleave/sync and the forged down_msg would have removed B's chat server.
  assert.equal(after_.groups.chat_servers, 2, `chat_servers on A: ${JSON.stringify(after_.groups)}`);
  // Remote pg_join, foreign members ("eve" is B's chat server) and bad users would have grown the room.
  assert.equal(after_.groups[`room:${ROOM}`], 2, `room:${ROOM} on A: ${JSON.stringify(after_.groups)}`);
  assert.equal(after_.groups.lobby, undefined, 'a group without the room: prefix');
  assert.equal(after_.groups['room:bad name'], undefined, 'a group with an invalid room name');
  // The forged node_down would have dropped B, the forged node_up added a node.
  const peerIds = after_.peers.map((p) => p.node_id).sort();
  assert.deepEqual(peerIds, [ids.b_node, ids.rogue_node].sort(), `A's peers: ${JSON.stringify(after_.peers)}`);
  assert.ok(after_.peers.some((p) => p.node === B.name), 'A still names B');
  // B saw none of it.
  const afterB = await clusterInfo(B);
  assert.deepEqual(afterB.groups, beforeB.groups);
  // Nobody in the room saw a user the rogue named.
  for (const c of [onA, onB]) {
    const present = [...c.presentUsers(ROOM)];
    for (const u of ['mallory', 'eve', 'bad user']) assert.ok(!present.includes(u), `${c.label} sees ${u}: ${present}`);
  }
  // And A said so, once (rate-limited), without flooding stderr.
  const log = fs.readFileSync(A.logFile, 'utf8');
  assert.match(log, /pg: dropped \d+ peer message\(s\); latest: \S+ from /);
  assert.doesNotMatch(log, /unexpected message/);
  onA.close();
  onB.close();
  rogue.stdin.end();
});
