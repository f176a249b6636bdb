// A strict reader of the Prometheus text exposition format (version 0.0.4),
// for the tests of /metrics: it throws on anything a Prometheus server would
// refuse or misread, instead of skipping it.

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** `{a="x",b="y\"z"}` at text[i..]: [labels object, index after the brace]. */
function readLabels(text, i, where) {
  const labels = {};
  i++; // {
  while (text[i] !== '}') {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: a label without '='`);
    const name = text.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`);
    if (text[eq + 1] !== '"') throw new Error(`${where}: label ${name} is not quoted`);
    let j = eq + 2;
    let value = '';
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const e = text[++j];
        if (e === 'n') value += '\n';
        else if (e === '\\' || e === '"') value += e;
        else throw new Error(`${where}: bad escape \\${e} in label ${name}`);
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`${where}: label ${name} is not closed`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`${where}: expected ',' or '}' after label ${name}`);
  }
  return [labels, i + 1];
}

function readValue(s, where) {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`${where}: ${JSON.stringify(s)} is not a number`);
  return Number(s);
}

/** The family a sample belongs to: its own name, or a histogram's/summary's with the suffix taken off. */
function familyOf(name, families) {
  if (families.has(name)) return families.get(name);
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (m && families.has(m[1]) && ['histogram', 'summary'].includes(families.get(m[1]).type)) return families.get(m[1]);
  return undefined;
}

/**
 * Parses the text and checks it: every sample after the HELP and TYPE of its
 * family, names and labels well formed, no series twice, counters (and
 * histogram series) not negative, each histogram series with ascending `le`
 * buckets whose counts never fall, ending at +Inf equal to its _count, and a
 * _sum. Returns Map family name -> { type, help, samples: [{ name, labels, value }] }.
 */
export function parseExposition(text) {
  const families = new Map();
  const seen = new Set();
  const lines = text.split('\n');
  if (lines.pop() !== '') throw new Error('the exposition does not end with a newline');
  lines.forEach((line, n) => {
    const where = `line ${n + 1} (${line.slice(0, 80)})`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
      const fam = families.get(name) ?? { name, type: undefined, help: undefined, samples: [] };
      if (fam.samples.length) throw new Error(`${where}: ${kind} after samples of ${name}`);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type ${rest}`);
        if (fam.type) throw new Error(`${where}: a second TYPE for ${name}`);
        fam.type = rest;
      } else {
        if (fam.help !== undefined) throw new Error(`${where}: a second HELP for ${name}`);
        fam.help = rest;
      }
      families.set(name, fam);
      return;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`${where}: no value`);
    const name = line.slice(0, nameEnd);
    if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
    let labels = {};
    let i = nameEnd;
    if (line[i] === '{') [labels, i] = readLabels(line, i, where);
    const parts = line.slice(i).trim().split(/\s+/);
    if (parts.length < 1 || parts.length > 2 || line[i] !== ' ') throw new Error(`${where}: expected " value [timestamp]"`);
    const value = readValue(parts[0], where);
    const fam = familyOf(name, families);
    if (!fam || !fam.type || fam.help === undefined) throw new Error(`${where}: sample of ${name} without HELP and TYPE before it`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`${where}: series ${name} ${JSON.stringify(labels)} twice`);
    seen.add(key);
    if ((fam.type === 'counter' || fam.type === 'histogram') && !(value >= 0)) throw new Error(`${where}: a ${fam.type} below 0`);
    if (fam.type === 'counter' && name !== fam.name) throw new Error(`${where}: counter sample ${name} is not named ${fam.name}`);
    fam.samples.push({ name, labels, value });
  });
  for (const fam of families.values()) {
    if (!fam.type) throw new Error(`family ${fam.name}: HELP without TYPE`);
    if (fam.type === 'histogram') checkHistogram(fam);
  }
  return families;
}

function checkHistogram(fam) {
  const series = new Map(); // labels without le -> { buckets, count, sum }
  for (const s of fam.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const h = series.get(key) ?? { buckets: [], count: undefined, sum: undefined };
    if (s.name === `${fam.name}_bucket`) {
      if (le === undefined) throw new Error(`${fam.name}: a bucket without le`);
      h.buckets.push({ le: readValue(le, `${fam.name} le`), count: s.value });
    } else if (s.name === `${fam.name}_count`) h.count = s.value;
    else if (s.name === `${fam.name}_sum`) h.sum = s.value;
    else throw new Error(`${fam.name}: unexpected sample ${s.name}`);
    series.set(key, h);
  }
  if (series.size === 0) throw new Error(`${fam.name}: a histogram without series`);
  for (const [key, h] of series) {
    const where = `${fam.name}${key}`;
    if (h.count === undefined || h.sum === undefined) throw new Error(`${where}: _count or _sum missing`);
    const les = h.buckets.map((b) => b.le);
    if (les.some((le, i) => i > 0 && !(le > les[i - 1]))) throw new Error(`${where}: le not ascending: ${les}`);
    if (les.at(-1) !== Infinity) throw new Error(`${where}: no +Inf bucket`);
    if (h.buckets.some((b, i) => i > 0 && b.count < h.buckets[i - 1].count)) throw new Error(`${where}: bucket counts fall`);
    if (h.buckets.at(-1).count !== h.count) throw new Error(`${where}: +Inf bucket ${h.buckets.at(-1).count} is not _count ${h.count}`);
  }
}

/** The one series of `family` whose labels include `labels`: its value (undefined if none). */
export function sample(families, name, labels = {}) {
  const fam = familyOf(name, families);
  const hits = (fam?.samples ?? []).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${hits.length} series`);
  return hits[0]?.value;
}

/** A histogram's (unlabelled) series: { count, sum, buckets: [{ le, count }] }. */
export function histogram(families, name) {
  const fam = families.get(name);
  if (!fam || fam.type !== 'histogram') throw new Error(`${name} is not a histogram here`);
  return {
    count: sample(families, `${name}_count`),
    sum: sample(families, `${name}_sum`),
    buckets: fam.samples.filter((s) => s.name === `${name}_bucket`).map((s) => ({ le: readValue(s.labels.le, name), count: s.value })),
  };
}
