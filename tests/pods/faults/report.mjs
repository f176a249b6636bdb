// The human report (markdown) and its JSON twin.

import fs from 'node:fs';
import path from 'node:path';

import { fmtMs } from './lib/scenario.mjs';

const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function writeReports(mdPath, meta, results) {
  let pass = 0;
  let fail = 0;
  for (const sc of results) for (const c of sc.checks) c.ok ? pass++ : fail++;
  const L = [];
  L.push('# Fault-injection report');
  L.push('');
  L.push(`Run ${meta.started}, ${fmtMs(meta.durationMs)} in all; node \`${meta.chatd}\`; three pods (network namespaces chatpod1..3, 10.77.0.1..3), found by DNS.`);
  L.push(`Node flags added by the suite: \`${meta.nodeFlags}\`. Node logs: \`${meta.podsState}/pods/I/log\`.`);
  const memOnly = (meta.dataDirs ?? []).map((d, k) => (d ? null : `pod${k + 1}`)).filter(Boolean);
  L.push(
    memOnly.length === 0
      ? `History on disk: each pod's node runs with \`--data-dir ${meta.podsState}/pods/I/data\`, kept across its restarts.`
      : `History in memory only on ${memOnly.join(', ')} (no \`--data-dir\`: PODS_DATA_DIR=0, or a node binary without the flag).`,
  );
  L.push(`Load: three clients per node, two rooms per scenario (client k of a node in room A, A and B, or B), each client ${meta.rate} messages/s with a \`client_id\` per message.`);
  L.push('');
  L.push(`**${results.filter((s) => s.passed).length} of ${results.length} scenarios passed; ${pass} checks passed, ${fail} failed.**`);
  L.push('');
  L.push('"delivered" counts, over every client that stayed or came back, the acked messages of others in its rooms it ended up with (live or in a `history`); "lost" is what is missing (messages: acked messages missing at some client or some node\'s history); "duplicated" counts live repeats on one connection, retries taken twice, and messages twice in a history.');
  L.push('');
  L.push('| scenario | result | sent | acked | delivered / expected (live + history) | lost (messages / deliveries) | duplicated | recovery |');
  L.push('|---|---|---|---|---|---|---|---|');
  for (const sc of results) {
    const s = sc.stats;
    L.push(
      `| ${cell(sc.title)} | ${sc.passed ? 'PASS' : '**FAIL**'} | ${s ? s.sent : '—'} | ${s ? s.acked : '—'} | ${s ? `${s.delivered} / ${s.expectedDeliveries} (${s.deliveredLive} + ${s.deliveredByHistory})` : '—'} | ${
        s ? `${s.lostMessages} / ${s.lostDeliveries}` : '—'
      } | ${s ? s.duplicated : '—'} | ${cell(sc.summary ?? '—')} |`,
    );
  }
  L.push('');
  let n = 0;
  for (const sc of results) {
    n += 1;
    L.push(`## ${n}. ${sc.title}: ${sc.passed ? 'PASS' : 'FAIL'}`);
    L.push('');
    if (sc.story) {
      L.push(sc.story);
      L.push('');
    }
    if (sc.durationMs != null) L.push(`Duration ${fmtMs(sc.durationMs)}.`);
    const s = sc.stats;
    if (s) {
      L.push(
        `Messages: ${s.sent} sent by ${s.clients} clients, ${s.acked} acked, ${s.unacked} never acked, ${s.retries} retries. ` +
          `Deliveries: ${s.delivered} of ${s.expectedDeliveries} (${s.deliveredLive} live, ${s.deliveredByHistory} through a history on (re)subscribe). ` +
          `Lost: ${s.lostMessages} messages, ${s.lostDeliveries} deliveries. Duplicated: ${s.duplicated}. Echoed to sender: ${s.echoes}. ` +
          `Reconnects: ${s.reconnects}; live messages a client already had from an earlier connection (dropped by the client, allowed): ${s.resumedLiveKnown}; resumes answered with gap: ${s.historyGaps}. ` +
          `Errors answered to publishes: ${JSON.stringify(s.errors)}. History length per room at the end: ${JSON.stringify(s.historyLength)}.`,
      );
      L.push('');
    }
    if (sc.recovery.length) {
      L.push('| recovery | measured | bound checked |');
      L.push('|---|---|---|');
      for (const r of sc.recovery) L.push(`| ${cell(r.what)} | ${r.ms == null ? 'not reached' : fmtMs(r.ms)} | ${r.bound == null ? '—' : fmtMs(r.bound)} |`);
      L.push('');
    }
    L.push('Checks:');
    L.push('');
    for (const c of sc.checks) L.push(`- ${c.ok ? 'ok' : '**FAIL**'} ${c.name}${c.ok ? '' : `: ${cell(c.detail).slice(0, 1500)}`}`);
    L.push('');
    if (sc.notes.length) {
      L.push('Notes:');
      L.push('');
      for (const x of sc.notes) L.push(`- ${x}`);
      L.push('');
    }
    if (sc.timeline.length) {
      L.push('<details><summary>timeline</summary>');
      L.push('');
      for (const e of sc.timeline) L.push(`- +${(e.t / 1000).toFixed(2)} s ${e.what}`);
      L.push('');
      L.push('</details>');
      L.push('');
    }
    const logs = Object.entries(sc.logs ?? {});
    if (logs.length) {
      L.push('Node log tails (failure):');
      L.push('');
      for (const [pod, lines] of logs) {
        L.push(`${pod}:`);
        L.push('```');
        L.push(...lines);
        L.push('```');
      }
      L.push('');
    }
  }
  const md = L.join('\n');
  fs.mkdirSync(path.dirname(mdPath), { recursive: true });
  fs.writeFileSync(mdPath, md + '\n');
  const json = {
    meta,
    passed: pass,
    failed: fail,
    scenarios: results.map((sc) => ({
      key: sc.key,
      title: sc.title,
      passed: sc.passed,
      durationMs: sc.durationMs,
      stats: sc.stats,
      summary: sc.summary ?? null,
      recovery: sc.recovery,
      checks: sc.checks,
      notes: sc.notes,
      timeline: sc.timeline,
      perNode: sc.perNode ?? null,
      logs: sc.logs,
    })),
  };
  fs.writeFileSync(mdPath.replace(/\.md$/, '') + '.json', JSON.stringify(json, null, 2) + '\n');
  return { md, pass, fail };
}
