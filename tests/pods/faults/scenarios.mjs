// The fault scenarios. Each runs on the 3-pod cluster that run.mjs made
// healthy, with its own rooms and users, under steady load, and ends with
// the common checks of lib/scenario.mjs plus its own.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { Load } from './lib/load.mjs';
import {
  PEER_TIMEOUT_MS,
  cluster,
  compareHistory,
  dataDir,
  direct,
  history,
  isReady,
  logExcerpt,
  metrics,
  now,
  peerNames,
  pods,
  request,
  startPod,
  startProxy,
  until,
} from './lib/pods.mjs';
import { Scenario, fetchHistories, finalChecks, fmtMs, presenceDiffs, settle } from './lib/scenario.mjs';

/** Messages per second per client. 9 clients, 2 rooms: ~13 messages/s per room. */
const RATE = Number(process.env.FAULTS_RATE || 3);
/**
 * The issue asks for convergence "within the configured timeout" (peer
 * timeout 3 s). The bound we check adds 2 s for a loaded 2-core machine and
 * our polling; the report shows the measured time next to it.
 */
const CONVERGE_BOUND_MS = PEER_TIMEOUT_MS + 2000;
const WARMUP_MS = 3000;
/** How long the chat goes on after a fault, before the load stops. */
const OUTAGE_MS = 8000;
/**
 * A silent peer is declared down once nothing came from it for the peer
 * timeout, checked at each heartbeat (every peer timeout / 4): up to 3.75 s.
 */
const SILENT_BOUND_MS = PEER_TIMEOUT_MS * 1.25 + 2000;

const tag = Date.now().toString(36).slice(-6);
const D = [1, 2, 3].map(direct);
const ep = (i) => D[i - 1];
const sameSet = (a, b) => a.length === b.length && [...a].sort().every((x, k) => x === [...b].sort()[k]);

/** What one scenario leaves for a later one (the rooms of the kill scenario, for the restart). */
export const shared = {};

/**
 * The load of a scenario: K clients per node in `nodes`; client k of a node
 * is in room A (k = 0), A and B (k = 1), or B (k = 2). Each tries its home
 * node first, then the other nodes of `fallback`, rotated by k so that the
 * clients of a lost node spread over the others.
 */
function makeLoad(name, { nodes, endpointOf = ep, fallback = [1, 2, 3], perNode = 3, rate = RATE }) {
  const rooms = [`${name}-a-${tag}`, `${name}-b-${tag}`];
  const load = new Load(name, rooms);
  for (const i of nodes) for (let k = 0; k < perNode; k++) addClient(load, name, i, k, { endpointOf, fallback, rate });
  return load;
}

function addClient(load, name, i, k, { endpointOf = ep, fallback = [1, 2, 3], rate = RATE, suffix = '' } = {}) {
  const [A, B] = load.rooms;
  const rooms = [[A], [A, B], [B]][k % 3];
  const others = fallback.filter((j) => j !== i).map((j) => ep(j));
  const r = others.length ? k % others.length : 0;
  const order = [endpointOf(i), ...others.slice(r), ...others.slice(0, r)];
  return load.add({ user: `${name}-${i}${suffix}${k}-${tag}`, rooms, order, rate, group: `pod${i}` });
}

async function joined(sc, load, clients = load.clients, what = 'every client joined its rooms') {
  const res = await until(() => clients.every((c) => c.ready), 20_000, { interval: 50 });
  res.detail = clients.filter((c) => !c.ready).map((c) => `${c.user}: ${c.events.at(-1)?.error ?? 'not ready'}`).join('; ');
  sc.recover(what, res, null);
  if (!res.ok) throw new Error(`clients did not join: ${res.detail}`);
  const pres = await until(() => presenceDiffs(load).length === 0, 15_000, { interval: 50 });
  pres.detail = JSON.stringify(presenceDiffs(load).slice(0, 3));
  sc.recover(`${what}: presence converged (every client sees every user of its rooms)`, pres, null);
}

/**
 * SIGKILL of pod I: the signal by the node's PID (so the moment of the crash
 * is known to the millisecond), then `pods.sh kill I`, which finds the process
 * gone and removes the pod's DNS record. Resolves to the moment of the kill
 * and a promise of that bookkeeping (the measurements start before it ends).
 */
async function sigkill(sc, i, justBefore = () => {}) {
  const p = await pods(['pid', String(i)]);
  const pid = Number(p.stdout);
  sc.check(`pods.sh pid ${i} names the node`, p.code === 0 && pid > 1, p.stderr || p.stdout);
  await justBefore();
  const t = now();
  if (pid > 1) process.kill(pid, 'SIGKILL');
  const done = pods(['kill', String(i)]).then((k) => sc.check(`pods.sh kill ${i} succeeded (DNS record removed)`, k.code === 0, k.stderr));
  return { t, done };
}

/** Time from each disconnect of a client to its next joined connection, in ms. */
function reconnectGaps(clients) {
  const gaps = [];
  for (const c of clients) {
    let down = null;
    for (const e of c.events) {
      if (e.kind === 'disconnect' && down === null) down = e.t;
      if (e.kind === 'ready' && down !== null) {
        gaps.push(e.t - down);
        down = null;
      }
    }
  }
  return gaps;
}

const max = (xs) => (xs.length ? Math.max(...xs) : null);

/**
 * The process groups as every node in `eps` sees them (/api/cluster `groups`):
 * `chat_servers` has one member per node, and each room of the load one per
 * connected client in it. Resolves to a list of differences (empty when fine).
 */
async function groupDiffs(eps, load) {
  const want = { chat_servers: eps.length };
  for (const r of load.rooms) want[`room:${r}`] = load.connected().filter((c) => c.rooms.includes(r)).length;
  const out = [];
  for (const e of eps) {
    const g = (await cluster(e)).groups ?? {};
    for (const [k, n] of Object.entries(want)) if ((g[k] ?? 0) !== n) out.push(`${e.pod} ${k}: ${g[k] ?? 0}, want ${n}`);
  }
  return out;
}

/** Waits (bounded) until groupDiffs is empty; an `until` result with the last differences in `detail`. */
async function groupsUntil(sc, eps, load, since, pre = () => true) {
  let last = [];
  const res = await until(
    async () => {
      if (!pre()) return false;
      last = await groupDiffs(eps, load);
      if (process.env.FAULTS_DEBUG && last.length) sc.mark(`groups: ${last.join('; ')}`);
      return last.length === 0;
    },
    15_000,
    { interval: 100, since },
  );
  res.detail = last.join('; ');
  return res;
}

async function groupsConverged(sc, eps, load, what, since) {
  sc.recover(what, await groupsUntil(sc, eps, load, since), null);
}

async function stopAndCheck(sc, load, eps) {
  load.stopSending();
  sc.mark(`load stopped: ${load.ackedCount()} acked; settling`);
  const tStop = now();
  const s = await settle(load, eps);
  sc.recover('after the load stopped, every client and every history caught up', s, null, { check: false });
  if (!s.ok) sc.note(`not settled within ${fmtMs(s.ms)}: ${s.detail}`);
  await finalChecks(sc, load, eps);
  return tStop;
}

// ------------------------------------------------------------------ 1. SIGKILL

export async function killNode(track) {
  const sc = track(new Scenario(
    'kill',
    'SIGKILL a node under steady chat load',
    'Nine clients (three per node) chat in two rooms; pod3 is killed with SIGKILL. A sentinel user that stays on pod3 ' +
      'shows when its leave reaches the others. The clients of pod3 reconnect to another node and resume with `since`.',
  ));
  const load = makeLoad('kill', { nodes: [1, 2, 3] });
  const sentinel = load.add({ user: `kill-sentinel-${tag}`, rooms: load.rooms, order: [ep(3)], rate: 0, reconnect: false, group: 'pod3' });
  shared.killRooms = load.rooms;
  try {
    await joined(sc, load);
    load.startSending();
    sc.mark('load started');
    await sleep(WARMUP_MS);
    const victims = load.clients.filter((c) => c.group === 'pod3' && c !== sentinel);
    const survivors = load.clients.filter((c) => c.group !== 'pod3');
    sc.mark(`SIGKILL pod3 (${load.ackedCount()} acked so far)`);
    const { t: tKill, done } = await sigkill(sc, 3);

    const [, view, presence, moved, groups] = await Promise.all([
      done,
      until(async () => sameSet(await peerNames(ep(1)), ['pod2']) && sameSet(await peerNames(ep(2)), ['pod1']), 20_000, { interval: 50, since: tKill }),
      until(
        () => survivors.every((c) => c.ready && c.rooms.every((r) => c.conn.presence.some((p) => p.room === r && p.user === sentinel.user && p.state === 'leave'))),
        20_000,
        { interval: 50, since: tKill },
      ),
      until(() => victims.every((c) => c.ready && c.node !== 'pod3'), 20_000, { interval: 50, since: tKill }),
      groupsUntil(sc, [ep(1), ep(2)], load, tKill, () => victims.every((c) => c.ready && c.node !== 'pod3')),
    ]);
    sc.recover("survivors' cluster view drops pod3 (/api/cluster)", view, CONVERGE_BOUND_MS);
    presence.detail = survivors.filter((c) => !c.conn?.presence.some((p) => p.user === sentinel.user && p.state === 'leave')).map((c) => c.user).join(', ');
    sc.recover('every client on a surviving node got the presence leave of the user left on pod3', presence, CONVERGE_BOUND_MS);
    sc.recover('every client of pod3 reconnected to a surviving node and joined its rooms again', moved, 15_000);
    sc.recover('process groups on pod1 and pod2 agree: chat_servers 2, every room holds exactly its connected clients', groups, null);
    sc.check(
      'the clients of pod3 resumed with `since` on their new node',
      victims.every((c) => c.conn && c.conn.since && Object.keys(c.conn.since).length === c.rooms.length),
      victims.map((c) => `${c.user}: since=${JSON.stringify(c.conn?.since)}`).join('; '),
    );
    sc.note(
      `resume histories: ${victims
        .map((c) => c.conn?.histories.map((h) => `${c.user.split('-')[1]} ${h.room.split('-')[1]}: ${h.n} msgs, ${h.fresh} new, gap ${h.gap}`).join(', '))
        .join('; ')}`,
    );

    sc.mark('chatting on the two survivors');
    await sleep(OUTAGE_MS);
    const tStop = await stopAndCheck(sc, load, [ep(1), ep(2)]);
    sc.check('clients on the surviving nodes never lost their connection', survivors.every((c) => c.conns.length === 1), survivors.map((c) => `${c.user}: ${c.conns.length}`).join(', '));
    const during = load.ackedBetween(survivors, tKill, tStop);
    const victimsAfter = load.ackedBetween(victims, tKill, tStop);
    sc.check('survivors kept chatting during the outage', during > 0, `acked ${during}`);
    sc.check('the moved clients chatted on their new node', victimsAfter > 0, `acked ${victimsAfter}`);
    sc.note(`acked after the kill: ${during} by clients of pod1/pod2, ${victimsAfter} by the moved clients of pod3`);
    sc.note(`client reconnect gaps: max ${fmtMs(max(reconnectGaps(victims)))}`);
    sc.summary = `detected ${fmtMs(view.ok ? view.ms : null)}, presence ${fmtMs(presence.ok ? presence.ms : null)}, clients moved ${fmtMs(moved.ok ? moved.ms : null)}`;
  } finally {
    await load.stop();
  }
  return sc;
}

// ------------------------------------------------------------------ 2. restart of the killed node

export async function restartNode(track) {
  const sc = track(new Scenario(
    'restart',
    'Restart the killed node',
    'With the chat going on among six clients on pod1 and pod2, pod3 is started again. It must find its peers by DNS, ' +
      'pull the history (also of the rooms of the kill scenario), and serve new clients with the full history; three ' +
      'new clients on pod3 join the chat.',
  ));
  const load = makeLoad('restart', { nodes: [1, 2], fallback: [1, 2] });
  const readers = shared.killRooms ? new Load('restart-reader', shared.killRooms) : null;
  try {
    if ((await pods(['pid', '3'])).code === 0) {
      // Run on its own (FAULTS_ONLY=restart): make the node to restart first.
      sc.note('pod3 was running: killed it first');
      await pods(['kill', '3']);
      await until(async () => sameSet(await peerNames(ep(1)), ['pod2']) && sameSet(await peerNames(ep(2)), ['pod1']), 20_000);
    }
    await joined(sc, load);
    load.startSending();
    sc.mark('load started on pod1 and pod2');
    await sleep(WARMUP_MS);

    const tStart = now();
    sc.mark('start pod3');
    await startPod(3);
    const ready = await until(() => isReady(ep(3)), 30_000, { interval: 50, since: tStart });
    sc.recover('pod3 ready (/readyz 200) after its start', ready, 30_000);
    const mesh = await until(
      async () => sameSet(await peerNames(ep(3)), ['pod1', 'pod2']) && sameSet(await peerNames(ep(1)), ['pod2', 'pod3']) && sameSet(await peerNames(ep(2)), ['pod1', 'pod3']),
      20_000,
      { interval: 50, since: tStart },
    );
    sc.recover('pod3 rejoined by DNS: every node sees the two others', mesh, 20_000);
    const ackedAtStart = load.rooms.map((r) => [r, [...load.acked(r).keys()]]);
    const caught = await until(
      async () => {
        for (const [r, want] of ackedAtStart) {
          const have = new Set((await history(ep(3), r)).map((m) => m.id));
          if (!want.every((id) => have.has(id))) return false;
        }
        return true;
      },
      15_000,
      { interval: 100, since: tStart },
    );
    sc.recover('pod3 holds every message of the live rooms acked before its start (pulled from its peers)', caught, 15_000);

    if (shared.killRooms) {
      const pulled = await until(
        async () => {
          for (const r of shared.killRooms) {
            const [h1, h3] = await Promise.all([history(ep(1), r), history(ep(3), r)]);
            if (h1.length === 0 || h1.map((m) => m.id).join() !== h3.map((m) => m.id).join()) return false;
          }
          return true;
        },
        15_000,
        { interval: 100, since: tStart },
      );
      sc.recover("pod3 pulled the kill scenario's history (equal to pod1's)", pulled, 15_000);
      const reader = readers.add({ user: `restart-reader-${tag}`, rooms: shared.killRooms, order: [ep(3)], rate: 0, reconnect: false, group: 'pod3' });
      const r = await until(() => reader.ready, 10_000, { interval: 50 });
      let ok = r.ok;
      const detail = [];
      if (ok) {
        for (const room of shared.killRooms) {
          const h1 = (await history(ep(1), room)).map((m) => m.id);
          const first = reader.conn.histories.find((h) => h.room === room);
          const got = [...reader.have.get(room).keys()];
          if (!first || first.gap || got.join() !== h1.join()) {
            ok = false;
            detail.push(`${room}: got ${got.length} (gap ${first?.gap}), pod1 has ${h1.length}`);
          }
        }
      } else detail.push('the reader did not join');
      sc.check("a new client on pod3 gets the kill scenario's full history, in order, gap false", ok, detail.join('; '));
    } else {
      sc.note('kill scenario not run: the pull of earlier rooms was not checked');
    }

    const newcomers = [0, 1, 2].map((k) => addClient(load, 'restart', 3, k, { suffix: 'n' }));
    await joined(sc, load, newcomers, 'three new clients on pod3 joined while the chat goes on');
    load.startSending(newcomers);
    sc.mark('new clients on pod3 chat too');
    await sleep(OUTAGE_MS);
    const first = newcomers.flatMap((c) => c.conns[0].histories);
    sc.note(`first histories of the new clients on pod3: ${first.map((h) => `${h.n} msgs (gap ${h.gap})`).join(', ')}`);
    await stopAndCheck(sc, load, D);
    sc.summary = `after start: ready ${fmtMs(ready.ok ? ready.ms : null)}, full mesh ${fmtMs(mesh.ok ? mesh.ms : null)}, history caught up ${fmtMs(caught.ok ? caught.ms : null)}`;
  } finally {
    await load.stop();
    if (readers) await readers.stop();
  }
  return sc;
}

// ------------------------------------------------------------------ 3. chat server actor crash

export async function crashChatServer(track) {
  const ROUNDS = 3;
  const sc = track(new Scenario(
    'actor-crash',
    'Kill the chat server actor of pod2 (not the process)',
    `\`POST /debug/crash/chat_server\` on pod2 under load, ${ROUNDS} times, 3 s apart (within the supervisor's limit of 5 restarts ` +
      'in 10 s). Just before each crash the clients of pod1 and pod3 publish a burst of 5 messages each, so that ' +
      "messages reach pod2 while its chat server is down. The supervisor restarts the actor; it must join the " +
      '`chat_servers` group again and recover what it missed from its peers; the clients of pod2 keep their ' +
      'connections and see no gap (publishes refused in the restart window are retried with the same client_id).',
  ));
  const load = makeLoad('crash', { nodes: [1, 2, 3] });
  const counter = (m) => m.get('chat_server_restarts_total') ?? m.get('chat_restarts_total');
  try {
    await joined(sc, load);
    load.startSending();
    sc.mark('load started');
    await sleep(WARMUP_MS);
    const onPod2 = load.clients.filter((c) => c.group === 'pod2');
    const elsewhere = load.clients.filter((c) => c.group !== 'pod2');
    const pulledBefore = logExcerpt(2, { lines: 100000, filter: /chat: pulled/ }).length;
    const times = { restarted: [], group: [], served: [] };
    let inWindow = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const before = counter(await metrics(ep(2)));
      let burst = 0;
      for (const c of elsewhere) burst += c.burst(5);
      const tCrash = now();
      sc.mark(`round ${round}: burst of ${burst} messages on pod1/pod3, POST /debug/crash/chat_server on pod2`);
      const r = await request(ep(2), '/debug/crash/chat_server', { method: 'POST', admin: true });
      sc.check(`round ${round}: the crash hook answered 200`, r.status === 200, `${r.status} ${r.text}`);
      const restarted = await until(async () => counter(await metrics(ep(2))) > before, 10_000, { interval: 20, since: tCrash });
      sc.recover(`round ${round}: the supervisor restarted the chat server (restart counter in /metrics grew)`, restarted, 10_000);
      inWindow += load.ackedBetween(elsewhere, tCrash, tCrash + restarted.ms);
      const group = await until(
        async () => {
          for (const e of D) if ((await cluster(e)).groups?.chat_servers !== 3) return false;
          return true;
        },
        10_000,
        { interval: 20, since: tCrash },
      );
      sc.recover(`round ${round}: the new chat server is in the chat_servers group on every node (size 3)`, group, 10_000);
      const served = await until(() => onPod2.some((c) => [...c.acked.values()].some((a) => a.firstAt > tCrash)), 10_000, { interval: 20, since: tCrash });
      sc.recover(`round ${round}: pod2 accepts new messages again (ack of a message first sent after the crash)`, served, 10_000);
      for (const [k, x] of [['restarted', restarted], ['group', group], ['served', served]]) times[k].push(x.ok ? x.ms : null);
      await sleep(3000);
    }
    sc.note(`messages acked on pod1/pod3 between a crash and the restart being visible in /metrics: ${inWindow} (they had to reach pod2 by replication or by its pull)`);
    const pulled = logExcerpt(2, { lines: 100000, filter: /chat: pulled/ }).slice(pulledBefore);
    sc.note(`pod2 log after the crashes: ${pulled.length} history pulls (${pulled.map((l) => (/pulled (\d+) message/.exec(l) || [])[1]).join(', ')} messages)`);
    await sleep(3000);
    const dropped = [];
    for (const e of D) dropped.push((await metrics(e)).get('chat_peers_dropped_total') ?? 0);
    sc.check(
      'no node dropped a peer: batches to a crashed chat server fail with it, they do not make its node "slow" (chat_peers_dropped_total 0)',
      dropped.every((n) => n === 0),
      dropped.join(', '),
    );
    await stopAndCheck(sc, load, D);
    sc.check(
      'the clients of pod2 kept their connections (no reconnect, no resume needed)',
      onPod2.every((c) => c.conns.length === 1),
      onPod2.map((c) => `${c.user}: ${c.conns.length}`).join(', '),
    );
    sc.note(`errors answered to publishes: ${JSON.stringify(sc.stats.errors)} (each retried with the same client_id)`);
    sc.check('no error other than `internal` (restart window) reached the clients', Object.keys(sc.stats.errors).every((k) => k === 'internal'), JSON.stringify(sc.stats.errors));
    sc.summary = `actor back ${fmtMs(max(times.restarted))}, in group ${fmtMs(max(times.group))}, serving ${fmtMs(max(times.served))} (worst of ${ROUNDS})`;
  } finally {
    await load.stop();
  }
  return sc;
}

// ------------------------------------------------------------------ 4. partition

export async function partition(track) {
  const HOLD_MS = Number(process.env.FAULTS_PARTITION_HOLD_MS || 6000);
  const sc = track(new Scenario(
    'partition',
    'Network partition of pod3, then heal',
    `pod3's veth is cut (a silent peer: no socket is closed). The clients of pod3 talk to it from inside its network ` +
      `namespace (through a relay started there), so both sides really keep serving. The partition is held ${HOLD_MS / 1000} s ` +
      `after both sides noticed it, then healed; every node's history must then hold every acked message of both sides, in the same order.`,
  ));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chatfaults-'));
  let proxy;
  let load;
  try {
    proxy = await startProxy(3, dir);
    sc.mark(`relay into chatpod3 running (pid ${proxy.pid})`);
    const E = [ep(1), ep(2), proxy];
    load = makeLoad('part', { nodes: [1, 2, 3], endpointOf: (i) => (i === 3 ? proxy : ep(i)), fallback: [1, 2] });
    // The clients of pod3 have no other way out of the namespace: they stay on pod3.
    for (const c of load.clients) if (c.group === 'pod3') c.order = [proxy];
    const side3 = load.clients.filter((c) => c.group === 'pod3');
    const side12 = load.clients.filter((c) => c.group !== 'pod3');
    await joined(sc, load);
    load.startSending();
    sc.mark('load started');
    await sleep(WARMUP_MS);

    sc.mark(`cut pod3 (${load.ackedCount()} acked so far)`);
    const cut = await pods(['cut', '3']);
    // `ip link set ... down` is the last thing pods.sh does: the cut is now.
    const tCut = now();
    sc.check('pods.sh cut 3 succeeded', cut.code === 0, cut.stderr);
    const split = await until(
      async () => sameSet(await peerNames(ep(1)), ['pod2']) && sameSet(await peerNames(ep(2)), ['pod1']) && (await peerNames(proxy)).length === 0,
      20_000,
      { interval: 50, since: tCut },
    );
    sc.recover('both sides see the partition (pod1, pod2 see each other only; pod3 sees nobody)', split, SILENT_BOUND_MS);
    const leave = (from, users) => from.every((c) => c.ready && c.rooms.every((r) => users.filter((u) => u.rooms.includes(r)).every((u) => c.conn.presence.some((p) => p.room === r && p.user === u.user && p.state === 'leave'))));
    const presence = await until(() => leave(side12, side3) && leave(side3, side12), 20_000, { interval: 50, since: tCut });
    sc.recover('presence: each side got the leave of every user of the other side', presence, SILENT_BOUND_MS);
    const tSplit = now();
    sc.mark(`partition seen by both sides; chatting on both sides for ${HOLD_MS / 1000} s`);
    await sleep(HOLD_MS);
    const a3 = load.ackedBetween(side3, tSplit, now());
    const a12 = load.ackedBetween(side12, tSplit, now());
    sc.check('the cut side (pod3) kept serving its clients during the partition', a3 > 0, `acked ${a3}`);
    sc.check('the majority side (pod1, pod2) kept serving during the partition', a12 > 0, `acked ${a12}`);
    sc.note(`acked during the partition: ${a12} on pod1/pod2, ${a3} on pod3`);

    const beforeHeal = [...load.rooms.map((r) => [r, [...load.acked(r).keys()]])];
    sc.mark('heal pod3');
    const heal = await pods(['heal', '3']);
    const tHeal = now();
    sc.check('pods.sh heal 3 succeeded', heal.code === 0, heal.stderr);
    const mesh = until(
      async () => {
        for (const [e, want] of [[ep(1), ['pod2', 'pod3']], [ep(2), ['pod1', 'pod3']], [proxy, ['pod1', 'pod2']]]) if (!sameSet(await peerNames(e), want)) return false;
        return true;
      },
      30_000,
      { interval: 50, since: tHeal },
    );
    const merged = until(
      async () => {
        for (const e of E) {
          for (const [r, ids] of beforeHeal) {
            const have = new Set((await history(e, r)).map((m) => m.id));
            if (!ids.every((id) => have.has(id))) return false;
          }
        }
        return true;
      },
      30_000,
      { interval: 100, since: tHeal },
    );
    const delivered = until(
      () => {
        for (const [r, ids] of beforeHeal) for (const c of load.clients) if (c.rooms.includes(r) && !ids.every((id) => c.hasId(r, id))) return false;
        return true;
      },
      30_000,
      { interval: 50, since: tHeal },
    );
    const back = until(() => presenceDiffs(load).length === 0, 30_000, { interval: 50, since: tHeal });
    const groups = groupsUntil(sc, E, load, tHeal);
    const [m, h, d, p, g] = await Promise.all([mesh, merged, delivered, back, groups]);
    sc.recover('after the heal every node sees the two others again', m, 30_000);
    sc.recover("after the heal every node's history holds every message acked before the heal", h, 30_000);
    sc.recover('after the heal every client has every message of the other side (delivered live, late)', d, 30_000);
    sc.recover('after the heal presence converged again (everyone sees everyone)', p, 30_000);
    sc.recover('after the heal the process groups merged: on every node chat_servers 3, every room all its clients', g, null);
    await sleep(4000);
    await stopAndCheck(sc, load, E);
    sc.check('no client lost its connection during the partition', load.clients.every((c) => c.conns.length === 1), load.clients.map((c) => `${c.user}: ${c.conns.length}`).join(', '));
    sc.summary = `split seen ${fmtMs(split.ok ? split.ms : null)}; after heal: mesh ${fmtMs(m.ok ? m.ms : null)}, histories merged ${fmtMs(h.ok ? h.ms : null)}, clients complete ${fmtMs(d.ok ? d.ms : null)}`;
  } finally {
    // Never leave pod3 cut, whatever happened.
    await pods(['heal', '3']);
    if (load) await load.stop();
    if (proxy) await proxy.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return sc;
}

// ------------------------------------------------------------------ 5. rolling restart

export async function rollingRestart(track) {
  const sc = track(new Scenario(
    'rolling',
    'Rolling restart (SIGTERM one node at a time)',
    'Under load, each node in turn gets SIGTERM (`pods.sh stop`: drain notice, connections closed after the 2 s grace), ' +
      'is started again, and must be ready and in the full mesh before the next one goes. Clients move away on the ' +
      '`draining` notice and resume elsewhere.',
  ));
  const load = makeLoad('roll', { nodes: [1, 2, 3] });
  const perNode = [];
  try {
    await joined(sc, load);
    load.startSending();
    sc.mark('load started');
    await sleep(WARMUP_MS);
    for (const i of [1, 2, 3]) {
      const t0 = now();
      sc.mark(`SIGTERM pod${i} (${load.ackedCount()} acked so far)`);
      const st = await pods(['stop', String(i)], { timeoutMs: 30_000 });
      const stopMs = now() - t0;
      sc.check(`pod${i} drained and exited on SIGTERM (no SIGKILL needed)`, st.code === 0 && !/SIGKILL/.test(st.stderr), st.stderr);
      const t1 = now();
      await startPod(i);
      const ready = await until(() => isReady(ep(i)), 30_000, { interval: 50, since: t1 });
      sc.recover(`pod${i} ready again after its start`, ready, 30_000);
      const others = [1, 2, 3].filter((j) => j !== i);
      const mesh = await until(
        async () => {
          for (const j of [1, 2, 3]) if (!sameSet(await peerNames(ep(j)), [1, 2, 3].filter((x) => x !== j).map((x) => `pod${x}`))) return false;
          return true;
        },
        20_000,
        { interval: 50, since: t1 },
      );
      sc.recover(`pod${i} back in the full mesh`, mesh, 20_000);
      await groupsConverged(sc, D, load, `pod${i} back in the process groups: every node sees chat_servers 3 and every room's clients`, t1);
      const ids = load.rooms.map((r) => [r, [...load.acked(r).keys()]]);
      const caught = await until(
        async () => {
          for (const [r, want] of ids) {
            const have = new Set((await history(ep(i), r)).map((m) => m.id));
            if (!want.every((id) => have.has(id))) return false;
          }
          return true;
        },
        15_000,
        { interval: 100, since: t1 },
      );
      sc.recover(`pod${i} holds every message acked so far (pulled from ${others.map((j) => `pod${j}`).join(', ')})`, caught, 15_000);
      perNode.push({ pod: i, stopMs, readyMs: ready.ok ? ready.ms : null, meshMs: mesh.ok ? mesh.ms : null });
      sc.note(`pod${i}: stop (drain + exit) ${fmtMs(stopMs)}, start to ready ${fmtMs(ready.ok ? ready.ms : null)}, to full mesh ${fmtMs(mesh.ok ? mesh.ms : null)}`);
      await sleep(3000);
    }
    await stopAndCheck(sc, load, D);
    const drained = load.clients.filter((c) => c.events.some((e) => e.kind === 'draining'));
    sc.check('clients got the `draining` notice and moved to another node', drained.length > 0 && drained.every((c) => c.conns.filter((k) => k.readyAt).length > 1), `${drained.length} clients got it`);
    const gaps = reconnectGaps(load.clients);
    sc.note(`${gaps.length} client moves; longest time without a joined connection ${fmtMs(max(gaps))}`);
    sc.note(`errors seen by clients: ${JSON.stringify(sc.stats.errors)}`);
    sc.summary = `per node stop ${fmtMs(max(perNode.map((p) => p.stopMs)))} max, start→ready ${fmtMs(max(perNode.map((p) => p.readyMs ?? 0)))} max; client moves ${fmtMs(max(gaps))} max`;
    sc.perNode = perNode;
  } finally {
    await load.stop();
  }
  return sc;
}

// ------------------------------------------------------------------ 6. SIGKILL with messages in flight

export async function killInFlight(track) {
  const DELAYS = (process.env.FAULTS_INFLIGHT_DELAYS || '0,2,4,6,8,10,12,14,16,18,20,22,24,26,28,30').split(',').map(Number);
  const VICTIMS = 4;
  const BURST = 40;
  const sc = track(new Scenario(
    'kill-inflight',
    'SIGKILL with messages in flight (acked means kept)',
    `The steady load of the kill scenario seldom has a message between its ack and its replication at the instant of the ` +
      `kill. Here, in ${DELAYS.length} rounds (fresh rooms and clients each), ${VICTIMS} clients on pod3 each publish a burst of ` +
      `${BURST} messages and pod3 is killed ${DELAYS.join(', ')} ms later (one delay per round), then started again; four clients on ` +
      `pod1 and pod2 chat steadily. Messages not acked when pod3 died are retried on another node with the same client_id. ` +
      `Every message that was acked must end up in the histories of pod1 and pod2 and at every client, exactly once.`,
  ));
  const rounds = [];
  const totals = {};
  const add = (st) => {
    for (const [k, v] of Object.entries(st)) if (typeof v === 'number') totals[k] = (totals[k] ?? 0) + v;
  };
  for (const [r, d] of DELAYS.entries()) {
    if ((await pods(['pid', '3'])).code !== 0) await startPod(3);
    const up = await until(
      async () =>
        (await isReady(ep(3))) &&
        sameSet(await peerNames(ep(1)), ['pod2', 'pod3']) &&
        sameSet(await peerNames(ep(2)), ['pod1', 'pod3']) &&
        sameSet(await peerNames(ep(3)), ['pod1', 'pod2']),
      30_000,
      { interval: 50 },
    );
    if (!up.ok) throw new Error(`round ${r + 1}: pod3 not back in the full mesh within 30 s`);
    const load = makeLoad(`inf${r}`, { nodes: [1, 2], perNode: 2 });
    const victims = [...Array(VICTIMS).keys()].map((k) => addClient(load, `inf${r}`, 3, k, {}));
    try {
      const j = await until(() => load.clients.every((c) => c.ready) && presenceDiffs(load).length === 0, 20_000, { interval: 20 });
      if (!j.ok) throw new Error(`round ${r + 1}: clients did not join: ${JSON.stringify(presenceDiffs(load).slice(0, 3))}`);
      load.startSending();
      await sleep(300);
      let burst = 0;
      const { t, done } = await sigkill(sc, 3, async () => {
        for (const c of victims) burst += c.burst(BURST);
        await sleep(d);
      });
      const moved = await until(() => victims.every((c) => c.ready && c.node !== 'pod3'), 15_000, { interval: 20, since: t });
      await done;
      const drained = await until(() => load.pendingCount() === 0, 15_000, { interval: 50 });
      load.stopSending();
      const settled = await settle(load, [ep(1), ep(2)], 4000);
      // Acks pod3 sent before it died (some read from the sockets just after the kill).
      const ackedByPod3 = victims.reduce((n, c) => n + [...c.acked.values()].filter((a) => a.node === 'pod3').length, 0);
      const retried = victims.reduce((n, c) => n + [...c.acked.values()].filter((a) => a.attempts > 1).length, 0);
      const sub = new Scenario(`round ${r + 1}`, '', '');
      await finalChecks(sub, load, [ep(1), ep(2)], { quiet: true });
      add(sub.stats);
      const bad = sub.checks.filter((c) => !c.ok);
      rounds.push({ delayMs: d, burst, ackedByPod3, retried, lostMessages: sub.stats.lostMessages, duplicated: sub.stats.duplicated, moved: moved.ok ? moved.ms : null });
      sc.mark(
        `round ${r + 1}: burst ${burst}, SIGKILL ${d} ms later; pod3 had acked ${ackedByPod3}, ${retried} retried on pod1/pod2; ` +
          `lost ${sub.stats.lostMessages}, duplicated ${sub.stats.duplicated}`,
      );
      sc.check(
        `round ${r + 1} (SIGKILL ${d} ms after a burst of ${burst}): nothing acked lost, nothing twice, pod1 and pod2 equal, every client complete`,
        bad.length === 0,
        bad.map((c) => `${c.name}: ${c.detail}`).join(' | ').slice(0, 1500),
      );
      if (!moved.ok || !drained.ok || !settled.ok) sc.note(`round ${r + 1}: clients moved ${moved.ok}, all acked ${drained.ok}, settled ${settled.ok} ${settled.ok ? '' : settled.detail}`);
    } finally {
      await load.stop();
    }
  }
  sc.stats = { ...totals, errors: {}, historyLength: null };
  sc.perRound = rounds;
  sc.note(`per round: ${rounds.map((x) => `${x.delayMs} ms: acked by pod3 ${x.ackedByPod3}, retried ${x.retried}, lost ${x.lostMessages}`).join('; ')}`);
  sc.summary = `${rounds.length} kills; clients moved in ${fmtMs(max(rounds.map((x) => x.moved ?? 0)))} max; lost ${rounds.map((x) => x.lostMessages).join('/')}`;
  return sc;
}

// ------------------------------------------------------------------ 7. SIGKILL of every node

/** Every message acked so far: id -> { room, node (the one that acked it), user, ... }. */
function ackedNow(load) {
  const out = new Map();
  for (const r of load.rooms) for (const [id, a] of load.acked(r)) out.set(id, a);
  return out;
}

/**
 * SIGKILL of every node in `is` at (nearly) the same moment: the PIDs first,
 * then the signals back to back; then `pods.sh kill` for the bookkeeping (DNS
 * records). Resolves to the moment of the first signal and the spread of all.
 */
async function sigkillAll(sc, is, label) {
  const pids = [];
  for (const i of is) {
    const p = await pods(['pid', String(i)]);
    pids.push(p.code === 0 ? Number(p.stdout) : 0);
  }
  sc.check(`${label}: pods.sh pid names every node`, pids.every((pid) => pid > 1), pids.join(', '));
  const t = now();
  for (const pid of pids) if (pid > 1) process.kill(pid, 'SIGKILL');
  const spreadMs = now() - t;
  const ks = await Promise.all(is.map((i) => pods(['kill', String(i)])));
  sc.check(`${label}: pods.sh kill succeeded for every pod (DNS records removed)`, ks.every((k) => k.code === 0), ks.map((k) => k.stderr).join('; '));
  return { t, spreadMs, pids };
}

/** The nodes of `eps` whose history lacks some of `ids` (a Map from ackedNow): ["pod2: 3 (e.g. ...)"]. */
async function nodesMissing(eps, load, ids) {
  const out = [];
  for (const [pod, byRoom] of await fetchHistories(eps, load.rooms)) {
    const have = new Set([...byRoom.values()].flat().map((m) => m.id));
    const miss = [...ids.keys()].filter((id) => !have.has(id));
    if (miss.length) out.push(`${pod}: ${miss.length} (e.g. ${miss.slice(0, 3).join(' ')})`);
  }
  return out;
}

/** The clients that lack some of `ids` in their rooms: ["user: n"]. */
function clientsMissing(load, ids) {
  const out = [];
  for (const c of load.clients) {
    const n = [...ids].filter(([id, a]) => c.rooms.includes(a.room) && !c.hasId(a.room, id)).length;
    if (n) out.push(`${c.user}: ${n}`);
  }
  return out;
}

/** An `until` over an async list of problems (empty = done), with the last list in `detail`. */
async function untilNone(fn, timeoutMs, since) {
  let last = [];
  const res = await until(
    async () => {
      last = await fn();
      return last.length === 0;
    },
    timeoutMs,
    { interval: 100, since },
  );
  res.detail = last.slice(0, 6).join('; ');
  return res;
}

/**
 * What each node read back from its own disk, with no peer to tell it
 * anything (read through the relays into the cut pods). `views`: pod ->
 * room -> history; `acked`: what was acked before the kill. Checks it and
 * returns a one-line account per node.
 */
function checkDiskViews(sc, load, views, acked, label) {
  const ids = new Map([...views].map(([pod, byRoom]) => [pod, new Set([...byRoom.values()].flat().map((m) => m.id))]));
  const empty = [];
  const badOrder = [];
  for (const [pod, byRoom] of views) {
    for (const [room, h] of byRoom) {
      if (h.length === 0) empty.push(`${pod} ${room}`);
      const seen = new Set();
      for (let k = 0; k < h.length; k++) {
        if (seen.has(h[k].id) || (k > 0 && compareHistory(h[k - 1], h[k]) >= 0)) {
          badOrder.push(`${pod} ${room} at ${k}: ${h[k].id}`);
          break;
        }
        seen.add(h[k].id);
      }
    }
  }
  sc.check(`${label}: every node's history of every room is non-empty right after its restart, alone (read from its own disk)`, empty.length === 0, `empty: ${empty.join(', ')}`);
  const notAtOrigin = [...acked].filter(([id, a]) => !ids.get(a.node)?.has(id));
  sc.check(
    `${label}: every message acked before the kill is in the history of the node that acked it, read before any peer could send it (its write-ahead log)`,
    notAtOrigin.length === 0,
    `${notAtOrigin.length} of ${acked.size} missing, e.g. ${notAtOrigin.slice(0, 5).map(([id, a]) => `${id} (acked by ${a.node})`).join(', ')}`,
  );
  const single = [...acked].filter(([id]) => [...ids.values()].filter((s) => s.has(id)).length < 2);
  sc.check(
    `${label}: every message acked before the kill is on the disks of at least two nodes (its own and the peer that confirmed it)`,
    single.length === 0,
    `${single.length} of ${acked.size} on fewer, e.g. ${single.slice(0, 5).map(([id, a]) => `${id} (acked by ${a.node}; on ${[...ids].filter(([, s]) => s.has(id)).map(([p]) => p).join(',') || 'none'})`).join(', ')}`,
  );
  sc.check(`${label}: each node's own history is in (ts, id) order with no id twice`, badOrder.length === 0, badOrder.join('; '));
  return [...views.keys()].map((pod) => {
    const mine = [...acked.values()].filter((a) => a.node === pod).length;
    const held = [...acked.keys()].filter((id) => ids.get(pod).has(id)).length;
    return `${pod}: ${ids.get(pod).size} messages, ${held} of the ${acked.size} acked (${mine} acked by ${pod} itself)`;
  });
}

/** Each client's first joined connection after `t`; its `since` must name every room of the client. */
function resumedWithSince(load, t) {
  const bad = [];
  for (const c of load.clients) {
    const k = c.conns.find((x) => x.readyAt && x.startedAt > t);
    if (!k) bad.push(`${c.user}: no connection since`);
    else if (!k.since || Object.keys(k.since).length !== c.rooms.length) bad.push(`${c.user}: since=${JSON.stringify(k.since)}`);
  }
  return bad;
}

export async function killAll(track) {
  const CHAT_MS = 4000;
  const sc = track(new Scenario(
    'kill-all',
    'SIGKILL every node under load, start them again on their data directories',
    'Nine clients (three per node) chat in two rooms; all three nodes get SIGKILL at the same moment, twice. ' +
      'Round 1: the pods are cut off the network (their veths down) and the nodes started again on their data ' +
      "directories, so that nothing can reach them: each node's history is read through a relay inside its pod and " +
      'must hold, from its own disk alone, every message it acked before the kill (acked = in its write-ahead log and ' +
      'confirmed stored by a peer). Then the pods are healed, the nodes find each other and pull what they miss, the ' +
      'clients reconnect with `since` and chat on. Round 2: SIGKILL of all three again, all three started at once with ' +
      'the network up, as after a power cut. Nothing acked may be lost, nothing may be twice, every history equal.',
  ));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chatfaults-'));
  const proxies = [];
  const load = makeLoad('kall', { nodes: [1, 2, 3] });
  const times = {};
  try {
    const dirs = [1, 2, 3].map(dataDir);
    sc.check('every pod runs on a data directory (pods.sh --data-dir)', dirs.every(Boolean), `data dirs: ${dirs.join(', ')} (PODS_DATA_DIR=${process.env.PODS_DATA_DIR ?? 'auto'})`);
    for (const i of [1, 2, 3]) proxies.push(await startProxy(i, dir));
    sc.mark(`relays into chatpod1..3 running (pids ${proxies.map((p) => p.pid).join(', ')})`);
    await joined(sc, load);
    load.startSending();
    sc.mark('load started');
    await sleep(WARMUP_MS);

    // ---- round 1: kill, restart isolated, read each node's own disk, heal
    const R1 = 'round 1';
    sc.mark(`${R1}: SIGKILL pod1, pod2, pod3 (${load.ackedCount()} acked so far)`);
    const k1 = await sigkillAll(sc, [1, 2, 3], R1);
    sc.note(`${R1}: the three SIGKILLs went out within ${k1.spreadMs.toFixed(2)} ms`);
    const down1 = await until(() => load.clients.every((c) => !c.ready), 5000, { interval: 20, since: k1.t });
    sc.recover(`${R1}: every client saw its connection drop`, down1, 5000);
    // Acks read from the sockets after the kill were sent before it: counted.
    const A1 = ackedNow(load);
    const byNode = [1, 2, 3].map((i) => [...A1.values()].filter((a) => a.node === `pod${i}`).length);
    sc.check(`${R1}: before the kill every node acked messages (the load ran on all three)`, byNode.every((n) => n > 0), `acked by pod1..3: ${byNode.join(', ')}`);
    for (const i of [1, 2, 3]) {
      const c = await pods(['cut', String(i)]);
      sc.check(`${R1}: pods.sh cut ${i} before the start (no peer, no client can reach it)`, c.code === 0, c.stderr);
    }
    const tStart1 = now();
    sc.mark(`${R1}: start pod1, pod2, pod3 on their data directories, each cut off`);
    await Promise.all([1, 2, 3].map(startPod));
    const ready1 = await until(async () => (await Promise.all(proxies.map(isReady))).every(Boolean), 20_000, { interval: 50, since: tStart1 });
    sc.recover(`${R1}: every node ready (/readyz 200) alone, after its start`, ready1, 20_000);
    const alone = await Promise.all(proxies.map(async (p) => [p.pod, await peerNames(p)]));
    sc.check(`${R1}: each node sees no peer while its history is read (/api/cluster)`, alone.every(([, ps]) => ps.length === 0), JSON.stringify(alone));
    const views = await fetchHistories(proxies, load.rooms);
    const account = checkDiskViews(sc, load, views, A1, R1);
    sc.note(`${R1}: ${A1.size} messages acked before the kill (by pod1..3: ${byNode.join(', ')}); read back alone: ${account.join('; ')}`);

    const tHeal = now();
    sc.mark(`${R1}: heal pod1, pod2, pod3`);
    for (const i of [1, 2, 3]) {
      const h = await pods(['heal', String(i)]);
      sc.check(`${R1}: pods.sh heal ${i} succeeded`, h.code === 0, h.stderr);
    }
    const [mesh1, nodes1, back1] = await Promise.all([
      until(
        async () => {
          for (const i of [1, 2, 3]) if (!sameSet(await peerNames(ep(i)), [1, 2, 3].filter((j) => j !== i).map((j) => `pod${j}`))) return false;
          return true;
        },
        20_000,
        { interval: 50, since: tHeal },
      ),
      untilNone(() => nodesMissing(D, load, A1), 12_000, tHeal),
      until(() => load.clients.every((c) => c.ready), 20_000, { interval: 50, since: tHeal }),
    ]);
    sc.recover(`${R1}: after the heal every node sees the two others`, mesh1, 20_000);
    sc.recover(`${R1}: after the heal every node's history holds every message acked before the kill`, nodes1, 12_000);
    back1.detail = load.clients.filter((c) => !c.ready).map((c) => `${c.user}: ${c.events.at(-1)?.error ?? 'not ready'}`).join('; ');
    sc.recover(`${R1}: every client reconnected after the heal`, back1, 20_000);
    const since1 = resumedWithSince(load, k1.t);
    sc.check(`${R1}: every client resumed every room with \`since\``, since1.length === 0, since1.join('; '));
    const got1 = await untilNone(() => clientsMissing(load, A1), 15_000);
    sc.recover(`${R1}: every client has every message acked before the kill, live or by history`, got1, 15_000);
    const tBack1 = now();
    times.round1 = { ready: ready1.ok ? ready1.ms : null, mesh: mesh1.ok ? mesh1.ms : null, clients: back1.ok ? back1.ms : null };
    sc.mark(`${R1}: chatting for ${CHAT_MS / 1000} s`);
    await sleep(CHAT_MS);

    // ---- round 2: kill, restart all at once with the network up
    const R2 = 'round 2';
    sc.mark(`${R2}: SIGKILL pod1, pod2, pod3 (${load.ackedCount()} acked so far)`);
    const k2 = await sigkillAll(sc, [1, 2, 3], R2);
    const down2 = await until(() => load.clients.every((c) => !c.ready), 5000, { interval: 20, since: k2.t });
    sc.recover(`${R2}: every client saw its connection drop`, down2, 5000);
    const A2 = ackedNow(load);
    const afterBack = load.clients.filter((c) => ![...c.acked.values()].some((a) => a.firstAt > tBack1));
    sc.check(`${R2}: every client got acks between the restart of round 1 and this kill`, afterBack.length === 0, afterBack.map((c) => c.user).join(', '));
    const tStart2 = now();
    sc.mark(`${R2}: start pod1, pod2, pod3 at once on their data directories`);
    await Promise.all([1, 2, 3].map(startPod));
    const [ready2, nodes2, back2] = await Promise.all([
      until(
        async () => {
          for (const i of [1, 2, 3]) {
            if (!(await isReady(ep(i)))) return false;
            if (!sameSet(await peerNames(ep(i)), [1, 2, 3].filter((j) => j !== i).map((j) => `pod${j}`))) return false;
          }
          return true;
        },
        20_000,
        { interval: 50, since: tStart2 },
      ),
      untilNone(() => nodesMissing(D, load, A2), 12_000, tStart2),
      until(() => load.clients.every((c) => c.ready), 20_000, { interval: 50, since: tStart2 }),
    ]);
    sc.recover(`${R2}: every node ready and in the full mesh after the start`, ready2, 20_000);
    sc.recover(`${R2}: every node's history holds every message acked before the kill`, nodes2, 12_000);
    back2.detail = load.clients.filter((c) => !c.ready).map((c) => `${c.user}: ${c.events.at(-1)?.error ?? 'not ready'}`).join('; ');
    sc.recover(`${R2}: every client reconnected`, back2, 20_000);
    const since2 = resumedWithSince(load, k2.t);
    sc.check(`${R2}: every client resumed every room with \`since\``, since2.length === 0, since2.join('; '));
    const got2 = await untilNone(() => clientsMissing(load, A2), 15_000);
    sc.recover(`${R2}: every client has every message acked before the kill, live or by history`, got2, 15_000);
    const tBack2 = now();
    times.round2 = { ready: ready2.ok ? ready2.ms : null, clients: back2.ok ? back2.ms : null };
    sc.mark(`${R2}: chatting for ${CHAT_MS / 1000} s`);
    await sleep(CHAT_MS);

    const tStop = await stopAndCheck(sc, load, D);
    const quiet = load.clients.filter((c) => ![...c.acked.values()].some((a) => a.firstAt > tBack2 && a.firstAt < tStop));
    sc.check(`${R2}: every client got acks after the restart`, quiet.length === 0, quiet.map((c) => c.user).join(', '));
    const gaps = load.clients.flatMap((c) => c.conns.flatMap((k) => k.histories.filter((h) => h.gap && h.since).map((h) => `${c.user} conn ${k.n} ${h.room}`)));
    sc.note(`resumes answered with gap (the since id was not on that node yet): ${gaps.length ? gaps.join(', ') : 'none'}`);
    sc.note(`client reconnect gaps: max ${fmtMs(max(reconnectGaps(load.clients)))}`);
    sc.summary =
      `round 1 (alone, cut): ready ${fmtMs(times.round1.ready)}, mesh after heal ${fmtMs(times.round1.mesh)}, clients back ${fmtMs(times.round1.clients)}; ` +
      `round 2: ready + mesh ${fmtMs(times.round2.ready)}, clients back ${fmtMs(times.round2.clients)}`;
  } finally {
    // Never leave a pod cut, whatever happened.
    for (const i of [1, 2, 3]) await pods(['heal', String(i)]);
    await load.stop();
    for (const p of proxies) await p.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return sc;
}

export const ALL = [
  ['kill', killNode],
  ['restart', restartNode],
  ['actor-crash', crashChatServer],
  ['partition', partition],
  ['rolling', rollingRestart],
  ['kill-inflight', killInFlight],
  ['kill-all', killAll],
];
