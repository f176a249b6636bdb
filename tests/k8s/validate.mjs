#!/usr/bin/env node
// Offline validation of the Kubernetes manifests in k8s/, of the Grafana
// dashboard k8s/monitoring/dashboard.json and of the Dockerfile.
//
//   node validate.mjs [K8S_DIR] [--dockerfile PATH] [--kubectl PATH] [--no-negative]
//
// 0. Source: every YAML file parses; every kustomization.yaml uses only what
//    kustomize v2.0.3 reads (the one built into kubectl 1.20, Debian 12's
//    kubernetes-client), names files that exist inside its directory and
//    lists every manifest there; a generated Secret's file is git-ignored.
// 1. Render: `kubectl kustomize` (--kubectl, $KUBECTL or kubectl on PATH)
//    renders k8s/overlays/dev, k8s/overlays/production and k8s/ (which must
//    give the dev overlay), in a copy of the tree where every secretGenerator
//    file is a throwaway value (the real secret is never read).
// 2. Schema: every rendered document against the Kubernetes OpenAPI schema
//    compiled into the npm package kubernetes-models (4.5.1: the Kubernetes
//    1.33 API), the ServiceMonitor against @kubernetes-models/prometheus-operator
//    (the operator's v0.65 CRDs), strictly: a field the schema does not know
//    (a typo such as `readinessProbes`) is an error, as with
//    `kubectl apply --validate=strict`. YAML is read as YAML 1.1 with unique
//    keys, as kubectl reads it.
// 3. Kubernetes rules the API server enforces beyond the schema (names,
//    selector vs. template labels, port names) and usual mistakes (a named
//    targetPort or probe port that no container has, `$(VAR)` before VAR,
//    requests above limits).
// 4. What this design needs, in both overlays: the headless discovery
//    Service, the env vars the node reads, probes on /healthz and /readyz,
//    the drain time, the data volume, the admin port, ...; and what
//    production adds: NetworkPolicy, pinned image, required auth Secret that
//    rolls the pods, zone spread, preStop, memory sized by the arithmetic of
//    docs/kubernetes.md, Ingress, ServiceMonitor. The Dockerfile's packages
//    against scripts/install-deps.sh.
// 5. The dashboard: JSON, a datasource variable, only metric names that
//    /metrics exports (read from the sources that declare them; counters and
//    histogram buckets in rate(), gauges not), a panel for each thing an
//    operator watches.
// 6. Negative checks: deliberately broken copies must be rejected, so that
//    this test can fail; the CLI itself must exit non-zero on a broken copy.
//
// Prints "ok - ..." / "not ok - ..." lines and ends with "N passed, M failed"
// (", K skipped" when a check cannot run here); exits 1 when one failed.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const SCHEMA_SOURCE = "kubernetes-models " + require("kubernetes-models/package.json").version;
const CRD_SCHEMA_SOURCE = "@kubernetes-models/prometheus-operator " + require("@kubernetes-models/prometheus-operator/package.json").version;
const pjoin = path.posix.join;
const pnorm = path.posix.normalize;

// ---------------------------------------------------------------- loading

// The packages `scripts/install-deps.sh build` installs (its `pkgs=(...)`).
function installDeps() {
  const f = path.join(repo, "scripts/install-deps.sh");
  if (!fs.existsSync(f)) return [];
  const m = /^pkgs=\(([^)]*)\)/m.exec(fs.readFileSync(f, "utf8"));
  return m ? m[1].split(/\s+/).filter(Boolean) : [];
}

// YAML 1.1 like kubectl (sigs.k8s.io/yaml): `value: yes` is a boolean there.
function parseYaml(text) {
  const errors = [];
  const docs = [];
  for (const doc of parseAllDocuments(text, { version: "1.1", uniqueKeys: true, prettyErrors: true })) {
    for (const e of doc.errors) errors.push(e.message.split("\n")[0]);
    const obj = doc.toJS({ maxAliasCount: 100 });
    if (obj !== null && obj !== undefined) docs.push(obj);
  }
  return { errors, docs };
}

function parseSet(set) {
  for (const f of set.files) {
    const { errors, docs } = parseYaml(f.text);
    f.parseErrors = errors;
    f.docs = docs;
  }
  return set;
}

const clone = (x) => structuredClone(x);
function cloneSet(set) {
  return {
    name: set.name,
    dockerfile: set.dockerfile,
    buildDeps: set.buildDeps,
    files: set.files.map((f) => ({ file: f.file, text: f.text, parseErrors: [...f.parseErrors], docs: clone(f.docs) })),
  };
}

// The source tree: the text of every YAML and JSON file and .gitignore, and
// the names of the other files (a generator's secret is never read).
function readTree(dir) {
  const files = {};
  const other = [];
  const walk = (rel) => {
    for (const ent of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? pjoin(rel, ent.name) : ent.name;
      if (ent.isDirectory()) walk(r);
      else if (/\.(ya?ml|json)$/.test(ent.name) || ent.name === ".gitignore") files[r] = fs.readFileSync(path.join(dir, r), "utf8");
      else other.push(r);
    }
  };
  walk("");
  return { files, other };
}

// ---------------------------------------------------------------- rendering (kubectl kustomize)

// What `kubectl kustomize` renders, and the name the checks report it by.
const TARGETS = [
  ["dev", "overlays/dev"],
  ["production", "overlays/production"],
  ["k8s/", "."],
];

function findKubectl(explicit) {
  const bin = explicit || process.env.KUBECTL || "kubectl";
  const r = spawnSync(bin, ["version", "--client"], { encoding: "utf8", timeout: 60000 });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.code || r.error.message : (r.stderr || "").trim().split("\n")[0];
    return { bin, error: `${bin} does not run (${why}): scripts/install-deps.sh test installs Debian's kubernetes-client (kubectl 1.20)` };
  }
  const out = `${r.stdout}\n${r.stderr}`;
  const version = (/GitVersion:"(v[^"]+)"/.exec(out) || /Client Version:\s*(v\S+)/.exec(out) || [])[1] || "(version unknown)";
  let kustomize = (/Kustomize Version:\s*(v\S+)/.exec(out) || [])[1];
  // kubectl 1.14 to 1.20 have kustomize v2.0.3 built in and do not say so.
  const minor = /^v1\.(\d+)\./.exec(version);
  if (!kustomize && minor && Number(minor[1]) >= 14 && Number(minor[1]) <= 20) kustomize = "v2.0.3";
  return { bin, label: `kubectl ${version}, kustomize ${kustomize || "(version unknown)"}` };
}

// Renders every target in a copy of the tree. Files a secretGenerator reads
// get a throwaway value there; the real secret is neither copied nor read.
function renderTree(k8sDir, kubectl) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-render-"));
  const out = {};
  try {
    const root = path.join(tmp, "k8s");
    const tree = readTree(k8sDir);
    const generated = new Set();
    for (const [rel, text] of Object.entries(tree.files)) {
      if (path.posix.basename(rel) !== "kustomization.yaml") continue;
      const k = parseYaml(text).docs[0] || {};
      for (const g of asList(k.secretGenerator)) for (const f of asList(g && g.files)) generated.add(pnorm(pjoin(path.posix.dirname(rel), generatorPath(f))));
    }
    fs.cpSync(k8sDir, root, { recursive: true, filter: (src) => !generated.has(path.relative(k8sDir, src).split(path.sep).join("/")) });
    for (const rel of generated) {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), crypto.randomBytes(32).toString("hex"));
    }
    for (const [name, dir] of TARGETS) {
      const r = spawnSync(kubectl.bin, ["kustomize", path.join(root, dir)], { encoding: "utf8", timeout: 120000, maxBuffer: 64 << 20 });
      if (r.status === 0) out[name] = { text: r.stdout };
      else out[name] = { error: (r.error ? String(r.error.message) : (r.stderr || "").trim().split("\n").slice(0, 3).join(" | ").split(tmp).join("")) || `exit ${r.status}` };
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

// Objects as kubectl would apply them, independent of order and key order.
function canonical(docs) {
  const sortKeys = (v) => (Array.isArray(v) ? v.map(sortKeys) : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])])) : v);
  return docs.map((d) => JSON.stringify(sortKeys(d))).sort();
}

// ---------------------------------------------------------------- source: kustomizations

const asList = (x) => (Array.isArray(x) ? x : x === undefined || x === null ? [] : [x]);
// "key=path" or "path" in a generator's files.
const generatorPath = (f) => (String(f).includes("=") ? String(f).slice(String(f).indexOf("=") + 1) : String(f));

// The fields kustomize v2.0.3 reads; anything else makes kubectl 1.20 fail
// ("json: unknown field"), though newer kubectl would take it.
const KUSTOMIZE_V2_FIELDS = new Set([
  "apiVersion", "kind", "resources", "bases", "patchesStrategicMerge", "patchesJson6902", "images", "secretGenerator",
  "configMapGenerator", "generatorOptions", "vars", "configurations", "commonLabels", "commonAnnotations", "namePrefix",
  "nameSuffix", "namespace", "crds",
]);

function kustomizationErrors(tree, dir) {
  const file = pjoin(dir, "kustomization.yaml");
  const { errors, docs } = parseYaml(tree.files[file]);
  if (errors.length) return errors;
  const k = docs[0];
  if (!k || typeof k !== "object") return ["empty"];
  const e = [];
  if (k.apiVersion !== "kustomize.config.k8s.io/v1beta1" || k.kind !== "Kustomization") e.push("not a kustomize.config.k8s.io/v1beta1 Kustomization");
  for (const f of Object.keys(k)) if (!KUSTOMIZE_V2_FIELDS.has(f)) e.push(`${f}: not read by kustomize v2.0.3 (kubectl 1.20 fails on it)`);
  const exists = (r) => Object.prototype.hasOwnProperty.call(tree.files, r) || tree.other.includes(r);
  const isKustomizationDir = (r) => exists(pjoin(r, "kustomization.yaml"));
  const inside = (r) => !r.startsWith("../") && r !== ".." && (dir === "." || r.startsWith(dir + "/"));
  const referenced = new Set();
  const refs = [
    ...asList(k.resources).map((x) => ["resources", x]),
    ...asList(k.patchesStrategicMerge).map((x) => ["patchesStrategicMerge", x]),
    ...asList(k.configurations).map((x) => ["configurations", x]),
    ...asList(k.crds).map((x) => ["crds", x]),
    ...asList(k.patchesJson6902).map((x) => ["patchesJson6902", x && x.path]),
  ];
  for (const [field, ref] of refs) {
    if (typeof ref !== "string") {
      e.push(`${field}: ${JSON.stringify(ref)} is not a file name (kustomize v2.0.3 takes file names there)`);
      continue;
    }
    const r = pnorm(pjoin(dir, ref));
    if (isKustomizationDir(r)) e.push(`${field}: ${ref} is a directory: kustomize v2.0.3 takes directories only under bases`);
    else if (!inside(r)) e.push(`${field}: ${ref} is outside the kustomization's directory (kustomize refuses to load it)`);
    else if (!exists(r)) e.push(`${field}: ${ref} does not exist`);
    referenced.add(r);
  }
  for (const b of asList(k.bases)) if (typeof b !== "string" || !isKustomizationDir(pnorm(pjoin(dir, b)))) e.push(`bases: ${JSON.stringify(b)} is not a directory with a kustomization.yaml`);
  const ignored = (tree.files[pjoin(dir, ".gitignore")] || "").split("\n").map((l) => l.trim());
  for (const [kind, gens] of [["secretGenerator", k.secretGenerator], ["configMapGenerator", k.configMapGenerator]]) {
    for (const g of asList(gens)) {
      for (const f of asList(g && g.files)) {
        const p = generatorPath(f);
        const r = pnorm(pjoin(dir, p));
        if (!inside(r)) e.push(`${kind} ${g.name}: ${p} is outside the kustomization's directory`);
        if (kind === "secretGenerator" && !ignored.includes(p) && !ignored.includes("/" + p)) e.push(`${kind} ${g.name}: ${p} is not in ${pjoin(dir, ".gitignore")}: the secret would end up in git`);
        referenced.add(r);
      }
      if (kind === "secretGenerator" && asList(g && g.literals).length) e.push(`${kind} ${g.name}: literals put the secret into git; read it from a git-ignored file`);
    }
  }
  for (const rel of Object.keys(tree.files)) {
    if (!/\.ya?ml$/.test(rel) || path.posix.dirname(rel) !== dir || path.posix.basename(rel) === "kustomization.yaml") continue;
    if (!referenced.has(rel)) e.push(`${path.posix.basename(rel)} is not referenced (resources, patchesStrategicMerge, configurations): it would not be applied`);
  }
  return e;
}

function sourceChecks(tree) {
  const checks = [];
  for (const [rel, text] of Object.entries(tree.files)) {
    if (/\.ya?ml$/.test(rel)) checks.push({ name: `source ${rel}: YAML parses (YAML 1.1, unique keys)`, errors: parseYaml(text).errors });
  }
  const dirs = Object.keys(tree.files).filter((r) => path.posix.basename(r) === "kustomization.yaml").map((r) => path.posix.dirname(r)).sort();
  for (const dir of dirs) {
    checks.push({ name: `source ${pjoin(dir, "kustomization.yaml")}: kustomize v2.0.3 fields only, its files exist inside its directory, every manifest there listed`, errors: kustomizationErrors(tree, dir) });
  }
  const layout = [];
  for (const d of ["base", "overlays/dev", "overlays/production", "."]) if (!dirs.includes(d)) layout.push(`no ${pjoin(d, "kustomization.yaml")}`);
  const kOf = (d) => (dirs.includes(d) ? parseYaml(tree.files[pjoin(d, "kustomization.yaml")]).docs[0] || {} : {});
  if (dirs.includes(".") && JSON.stringify(asList(kOf(".").bases)) !== JSON.stringify(["overlays/dev"])) layout.push("k8s/kustomization.yaml must have bases: [overlays/dev], so that `kubectl apply -k k8s/` applies the dev overlay");
  for (const d of ["overlays/dev", "overlays/production"]) if (dirs.includes(d) && !asList(kOf(d).bases).includes("../../base")) layout.push(`${d} does not build on ../../base`);
  checks.push({ name: "source: layout base/, overlays/dev/, overlays/production/; k8s/ is the dev overlay", errors: layout });
  return checks;
}
// ---------------------------------------------------------------- schema (strict)

// API groups of custom resources and the package that has their schemas.
const CRD_PACKAGES = { "monitoring.coreos.com": "@kubernetes-models/prometheus-operator" };

function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  const parts = apiVersion.split("/");
  if (parts.length > 2) return null;
  const pkg = (parts.length === 2 && CRD_PACKAGES[parts[0]]) || "kubernetes-models";
  const mod = parts.length === 2 ? `${pkg}/${parts[0]}/${parts[1]}` : `${pkg}/${parts[0]}`;
  try {
    const m = require(mod)[kind];
    return typeof m === "function" && typeof m.prototype.validate === "function" ? m : null;
  } catch {
    return null;
  }
}

// Runs the package's compiled schema validator on a Proxy of the object that
// records which property names the validator looks up in each object. In an
// object the validator treats as typed (it looked up names in it) a key it
// never looked up is a field unknown to the schema. Objects it enumerates
// (maps such as labels) and objects it never looks into (free-form) are
// skipped.
function schemaErrors(obj) {
  const Model = modelFor(obj.apiVersion, obj.kind);
  if (!Model) return [`no schema for apiVersion ${obj.apiVersion}, kind ${obj.kind} in ${SCHEMA_SOURCE} or ${CRD_SCHEMA_SOURCE}`];
  const looked = new Map();
  const enumerated = new Set();
  const proxies = new WeakMap();
  const note = (t, k) => {
    if (typeof k !== "string") return;
    if (!looked.has(t)) looked.set(t, new Set());
    looked.get(t).add(k);
  };
  const wrap = (v) => {
    if (v === null || typeof v !== "object") return v;
    if (proxies.has(v)) return proxies.get(v);
    const p = new Proxy(v, {
      get(t, k, r) { note(t, k); return wrap(Reflect.get(t, k, r)); },
      has(t, k) { note(t, k); return Reflect.has(t, k); },
      getOwnPropertyDescriptor(t, k) { note(t, k); return Reflect.getOwnPropertyDescriptor(t, k); },
      ownKeys(t) { enumerated.add(t); return Reflect.ownKeys(t); },
    });
    proxies.set(v, p);
    return p;
  };
  const errors = [];
  try {
    Model.prototype.validate.call(wrap(obj));
  } catch (e) {
    if (Array.isArray(e.errors)) {
      for (const err of e.errors) errors.push(`${err.instancePath || "/"} ${err.message}${err.params && err.params.allowedValues ? " " + JSON.stringify(err.params.allowedValues) : ""}`);
    } else errors.push(String(e.message || e));
  }
  const walk = (v, p) => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${p}/${i}`));
    if (v === null || typeof v !== "object") return;
    const seen = looked.get(v);
    if (!enumerated.has(v) && seen && seen.size > 0) {
      for (const k of Object.keys(v)) if (!seen.has(k)) errors.push(`${p}/${k}: unknown field "${k}"`);
    }
    for (const k of Object.keys(v)) walk(v[k], `${p}/${k}`);
  };
  walk(obj, "");
  return [...new Set(errors)];
}

// ---------------------------------------------------------------- helpers

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

function parseQuantity(q) {
  if (typeof q === "number") return q;
  const m = /^([+-]?[0-9.]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(String(q));
  if (!m) return NaN;
  const mult = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
  return parseFloat(m[1]) * (m[2] ? mult[m[2]] : 1);
}

// Does a label selector (matchLabels / matchExpressions) select these labels?
function selects(selector, labels) {
  if (!selector || typeof selector !== "object") return false;
  labels = labels || {};
  const ml = selector.matchLabels || {};
  const me = selector.matchExpressions || [];
  if (Object.keys(ml).length === 0 && me.length === 0) return false; // selects nothing useful
  for (const [k, v] of Object.entries(ml)) if (labels[k] !== v) return false;
  for (const e of me) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const vals = e.values || [];
    if (e.operator === "In" && !(has && vals.includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && vals.includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}
// A Service selector is a plain map.
const serviceSelects = (sel, labels) => !!sel && Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => (labels || {})[k] === v);

const docsOf = (set) => set.files.flatMap((f) => f.docs.map((obj) => ({ file: f.file, obj })));
const ofKind = (set, kind) => docsOf(set).filter((d) => d.obj && d.obj.kind === kind).map((d) => d.obj);
const id = (o) => `${o && o.kind}/${o && o.metadata && o.metadata.name}`;

function podTemplates(set) {
  const out = [];
  for (const o of docsOf(set).map((d) => d.obj)) {
    if (["StatefulSet", "Deployment", "DaemonSet", "ReplicaSet"].includes(o.kind) && o.spec && o.spec.template) out.push({ owner: o, tpl: o.spec.template });
  }
  return out;
}

function containersOf(tpl) {
  const s = (tpl && tpl.spec) || {};
  return [...(s.initContainers || []), ...(s.containers || [])];
}

// Names that `$(NAME)` can refer to at position i: env entries before it.
function envRefErrors(container) {
  const errs = [];
  const defined = new Set();
  const names = new Set();
  for (const e of container.env || []) {
    if (!e || typeof e.name !== "string") continue;
    if (!ENV_NAME.test(e.name)) errs.push(`env ${e.name}: not a valid variable name`);
    if (names.has(e.name)) errs.push(`env ${e.name}: defined twice`);
    names.add(e.name);
    if (typeof e.value === "string") {
      for (const m of e.value.matchAll(/(?<!\$)\$\(([^)]+)\)/g)) {
        if (!defined.has(m[1])) errs.push(`env ${e.name}: $(${m[1]}) refers to a variable not defined before it (it would stay literal)`);
      }
    }
    defined.add(e.name);
  }
  return errs;
}

// ---------------------------------------------------------------- generic Kubernetes rules

function kubeRuleErrors(set, obj) {
  const errs = [];
  const md = obj.metadata || {};
  const name = md.name;
  if (typeof name !== "string" || !name) errs.push("metadata.name is missing");
  else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) errs.push(`metadata.name "${name}" is not a DNS-1123 subdomain`);
  if (md.namespace !== undefined && !DNS1123_LABEL.test(md.namespace)) errs.push(`metadata.namespace "${md.namespace}" is not a DNS-1123 label`);
  for (const [k, v] of Object.entries(md.labels || {})) {
    if (typeof v !== "string" || v.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v)) errs.push(`label ${k}: bad value ${JSON.stringify(v)}`);
  }
  if (obj.kind === "Service" && typeof name === "string" && (name.length > 63 || !DNS1035_LABEL.test(name))) errs.push(`Service name "${name}" is not a DNS-1035 label`);
  if (obj.kind === "StatefulSet" && typeof name === "string" && (name.length > 52 || !DNS1123_LABEL.test(name))) errs.push(`StatefulSet name "${name}" must be a DNS-1123 label of at most 52 characters (pod names and revision labels append to it)`);

  const spec = obj.spec || {};
  if (spec.template) {
    const labels = (spec.template.metadata || {}).labels || {};
    if (!selects(spec.selector, labels)) errs.push("spec.selector does not select spec.template.metadata.labels (the API server refuses this)");
    const tspec = spec.template.spec || {};
    const portNames = new Set();
    const portNums = new Set();
    for (const c of containersOf(spec.template)) {
      for (const p of c.ports || []) {
        if (p.name !== undefined) {
          if (typeof p.name !== "string" || p.name.length > 15 || !IANA_SVC_NAME.test(p.name) || !/[a-z]/.test(p.name) || p.name.includes("--")) errs.push(`container ${c.name}: port name "${p.name}" is not an IANA_SVC_NAME (at most 15 of a-z0-9-, a letter, no "--")`);
          if (portNames.has(p.name)) errs.push(`port name "${p.name}" used twice in the pod`);
          portNames.add(p.name);
        }
        const key = `${p.containerPort}/${p.protocol || "TCP"}`;
        if (portNums.has(key)) errs.push(`container port ${key} declared twice in the pod`);
        portNums.add(key);
      }
      for (const probeName of ["startupProbe", "livenessProbe", "readinessProbe"]) {
        const pr = c[probeName];
        const port = pr && (pr.httpGet || pr.tcpSocket || pr.grpc || {}).port;
        if (typeof port === "string" && !(c.ports || []).some((p) => p.name === port)) errs.push(`container ${c.name}: ${probeName} uses port "${port}" that the container does not name`);
      }
      errs.push(...envRefErrors(c).map((e) => `container ${c.name}: ${e}`));
      const r = c.resources || {};
      for (const res of Object.keys(r.requests || {})) {
        if (r.limits && r.limits[res] !== undefined && parseQuantity(r.requests[res]) > parseQuantity(r.limits[res])) errs.push(`container ${c.name}: ${res} request ${r.requests[res]} is above its limit ${r.limits[res]}`);
      }
      // A StatefulSet's claim templates are volumes of its pods too.
      const claims = obj.kind === "StatefulSet" ? (spec.volumeClaimTemplates || []).map((t) => (t.metadata || {}).name) : [];
      const vols = new Set([...(tspec.volumes || []).map((v) => v.name), ...claims]);
      for (const vm of c.volumeMounts || []) if (!vols.has(vm.name)) errs.push(`container ${c.name}: volumeMount ${vm.name} has no volume`);
    }
  }

  if (obj.kind === "Service") {
    const ports = spec.ports || [];
    if (ports.length > 1) for (const p of ports) if (!p.name) errs.push(`Service port ${p.port}: several ports, so each needs a name`);
    const pn = ports.map((p) => p.name).filter(Boolean);
    if (new Set(pn).size !== pn.length) errs.push("Service port names are not unique");
    for (const p of ports) if (p.name !== undefined && !DNS1123_LABEL.test(p.name)) errs.push(`Service port name "${p.name}" is not a DNS-1123 label`);
    if (spec.clusterIP === "None" && spec.type && spec.type !== "ClusterIP") errs.push("a headless Service must be of type ClusterIP");
    // A named targetPort must exist in the pods the Service selects.
    const pods = podTemplates(set).filter(({ tpl }) => serviceSelects(spec.selector, (tpl.metadata || {}).labels));
    for (const p of ports) {
      if (typeof p.targetPort !== "string") continue;
      for (const { owner, tpl } of pods) {
        if (!containersOf(tpl).some((c) => (c.ports || []).some((cp) => cp.name === p.targetPort))) errs.push(`Service port ${p.name || p.port}: targetPort "${p.targetPort}" is not a container port name in ${id(owner)}`);
      }
    }
  }

  if (obj.kind === "StatefulSet") {
    const podVols = new Set((((spec.template || {}).spec || {}).volumes || []).map((v) => v.name));
    for (const t of spec.volumeClaimTemplates || []) {
      const n = (t.metadata || {}).name;
      // The claim of pod chat-0 is named <template>-chat-0.
      if (typeof n !== "string" || !DNS1123_LABEL.test(n)) errs.push(`volumeClaimTemplate name ${JSON.stringify(n)} is not a DNS-1123 label`);
      else if (podVols.has(n)) errs.push(`volumeClaimTemplate ${n} has the name of a pod volume too (the claim would silently replace it)`);
      const modes = (t.spec || {}).accessModes || [];
      if (modes.length === 0) errs.push(`volumeClaimTemplate ${n}: accessModes is empty (the API server refuses the claim)`);
      const storage = (((t.spec || {}).resources || {}).requests || {}).storage;
      if (!(parseQuantity(storage) > 0)) errs.push(`volumeClaimTemplate ${n}: resources.requests.storage is missing (the API server refuses the claim)`);
    }
    const sn = spec.serviceName;
    if (sn !== undefined) {
      const svc = ofKind(set, "Service").find((s) => s.metadata && s.metadata.name === sn);
      if (!svc) errs.push(`spec.serviceName "${sn}" names no Service in these manifests`);
      else if ((svc.spec || {}).clusterIP !== "None") errs.push(`spec.serviceName "${sn}" names a Service that is not headless`);
    }
  }

  if (obj.kind === "Ingress") {
    // Every backend is a Service of these manifests, on a port it has.
    const backends = [spec.defaultBackend, ...(spec.rules || []).flatMap((r) => ((r.http || {}).paths || []).map((p) => p.backend))].filter(Boolean);
    for (const b of backends) {
      const s = b.service;
      if (!s) continue;
      const svc = ofKind(set, "Service").find((x) => x.metadata && x.metadata.name === s.name);
      if (!svc) errs.push(`backend Service "${s.name}" is not in these manifests`);
      else if (s.port && !(svc.spec.ports || []).some((p) => (s.port.name !== undefined ? p.name === s.port.name : p.port === s.port.number))) errs.push(`backend port ${JSON.stringify(s.port)} is not a port of Service ${s.name}`);
    }
  }

  if (obj.kind === "PodDisruptionBudget") {
    if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) errs.push("minAvailable and maxUnavailable are exclusive");
    if (!podTemplates(set).some(({ tpl }) => selects(spec.selector, (tpl.metadata || {}).labels))) errs.push("spec.selector selects no pods of these manifests");
  }
  return errs;
}

// ---------------------------------------------------------------- the design's own rules

// CHAT_* names the node reads: docs/config.md (the node's table) and the flag
// table of src/app/config.cpp.
function knownChatEnv() {
  const names = new Set();
  const cfg = path.join(repo, "docs/config.md");
  if (fs.existsSync(cfg)) for (const m of fs.readFileSync(cfg, "utf8").matchAll(/`(CHAT_[A-Z0-9_]+)`/g)) names.add(m[1]);
  const src = path.join(repo, "src/app/config.cpp");
  if (fs.existsSync(src)) for (const m of fs.readFileSync(src, "utf8").matchAll(/"(CHAT_[A-Z0-9_]+)"/g)) names.add(m[1]);
  return names;
}

// The seconds a container's preStop hook sleeps: 0 without one, NaN for a
// hook that is not a plain sleep (exec sleep N, sh -c "sleep N", sleep action).
function preStopSeconds(c) {
  const h = ((c && c.lifecycle) || {}).preStop;
  if (!h) return 0;
  if (h.sleep && Number.isInteger(h.sleep.seconds)) return h.sleep.seconds;
  const cmd = ((h.exec || {}).command || []).map(String);
  if (cmd.length === 2 && /(^|\/)sleep$/.test(cmd[0]) && /^\d+$/.test(cmd[1])) return Number(cmd[1]);
  if (cmd.length === 3 && /(^|\/)(ba)?sh$/.test(cmd[0]) && cmd[1] === "-c") {
    const m = /^\s*sleep\s+(\d+)\s*$/.exec(cmd[2]);
    if (m) return Number(m[1]);
  }
  return NaN;
}

// name[:tag][@digest] of an image reference (a tag has no "/", so a
// registry's :port is not taken for one).
function parseImage(ref) {
  const m = /^(.+?)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(String(ref || ""));
  return m ? { name: m[1], tag: m[2], digest: m[3] } : { name: String(ref) };
}

// Shorthands over the one StatefulSet of a set, shared by the rule groups.
function view(set) {
  const stss = ofKind(set, "StatefulSet");
  const sts = stss.length === 1 ? stss[0] : null;
  const need = () => {
    if (!sts) throw new Error(`expected exactly one StatefulSet, found ${stss.length}`);
    return sts;
  };
  const tpl = () => need().spec.template;
  const podLabels = () => (tpl().metadata || {}).labels || {};
  const container = () => {
    const cs = (tpl().spec || {}).containers || [];
    const c = cs.find((x) => x.name === "chatd") || cs[0];
    if (!c) throw new Error("the StatefulSet has no container");
    return c;
  };
  const env = () => {
    const m = new Map();
    (container().env || []).forEach((e, i) => m.set(e.name, { ...e, index: i }));
    return m;
  };
  // The discovery Service: headless, with the cluster port.
  const headless = () => {
    const h = ofKind(set, "Service").filter((s) => (s.spec || {}).clusterIP === "None" && ((s.spec || {}).ports || []).some((p) => p.port === 9100));
    if (h.length !== 1) throw new Error(`expected exactly one headless Service (clusterIP: None) with the cluster port 9100, found ${h.length}`);
    return h[0];
  };
  const portNamed = (n) => (container().ports || []).find((p) => p.name === n);
  const fieldRef = (e) => e && e.valueFrom && e.valueFrom.fieldRef && e.valueFrom.fieldRef.fieldPath;
  // A Service port's target as a container port number.
  const targetNumber = (p) => (typeof p.targetPort === "string" ? (portNamed(p.targetPort) || {}).containerPort : p.targetPort ?? p.port);
  const servicesOfPods = () => ofKind(set, "Service").filter((s) => serviceSelects((s.spec || {}).selector, podLabels()));
  const envNumber = (n, dflt) => {
    const v = env().get(n);
    return v && v.value !== undefined ? Number(v.value) : dflt;
  };
  return { sts, need, tpl, podLabels, container, env, headless, portNamed, fieldRef, targetNumber, servicesOfPods, envNumber };
}

function checker(checks, prefix) {
  return (name, fn) => {
    let errors;
    try {
      errors = fn();
    } catch (e) {
      errors = [`cannot check: ${e.message}`];
    }
    checks.push({ name: `${prefix}: ${name}`, errors: errors || [] });
  };
}

function designChecks(set) {
  const checks = [];
  const add = checker(checks, "design");
  const { need, tpl, podLabels, container, env, headless, portNamed, fieldRef, targetNumber, servicesOfPods } = view(set);

  add("headless Service: clusterIP None, publishNotReadyAddresses true, selects the pods, port 9100", () => {
    const h = headless();
    const e = [];
    if (h.spec.publishNotReadyAddresses !== true) e.push(`${id(h)}: publishNotReadyAddresses must be true (peers must find each other before they are ready)`);
    if (!serviceSelects(h.spec.selector, podLabels())) e.push(`${id(h)}: selector does not select the chat pods`);
    const cp = (h.spec.ports || []).find((p) => p.port === 9100);
    if (!(cp.targetPort === "cluster" || cp.targetPort === 9100 || cp.targetPort === undefined)) e.push(`${id(h)}: port 9100 targets ${cp.targetPort}`);
    return e;
  });
  add("StatefulSet: serviceName is the headless Service, 3 replicas", () => {
    const e = [];
    const h = headless();
    const sts = need();
    if (sts.spec.serviceName !== h.metadata.name) e.push(`serviceName "${sts.spec.serviceName}" is not the headless Service "${h.metadata.name}"`);
    if (sts.spec.replicas !== 3) e.push(`replicas is ${JSON.stringify(sts.spec.replicas)}, want 3`);
    return e;
  });
  add("container ports: http 8080, cluster 9100, admin 9180", () => {
    const e = [];
    if (!portNamed("http") || portNamed("http").containerPort !== 8080) e.push("no container port http 8080");
    if (!portNamed("cluster") || portNamed("cluster").containerPort !== 9100) e.push("no container port cluster 9100");
    if (!portNamed("admin") || portNamed("admin").containerPort !== 9180) e.push("no container port admin 9180 (/metrics and the full /api/cluster are only there)");
    return e;
  });
  add("env: CHAT_NODE_NAME from metadata.name, CHAT_ADVERTISE_ADDR from status.podIP (downward API)", () => {
    const m = env();
    const e = [];
    if (fieldRef(m.get("CHAT_NODE_NAME")) !== "metadata.name") e.push("CHAT_NODE_NAME must come from fieldRef metadata.name");
    if (fieldRef(m.get("CHAT_ADVERTISE_ADDR")) !== "status.podIP") e.push("CHAT_ADVERTISE_ADDR must come from fieldRef status.podIP");
    return e;
  });
  add("env: CHAT_DISCOVERY_DNS names the headless Service, not the cluster domain (chat-headless, or chat-headless.$(POD_NAMESPACE)[.svc] after POD_NAMESPACE)", () => {
    const m = env();
    const e = [];
    const h = headless().metadata.name;
    const d = m.get("CHAT_DISCOVERY_DNS");
    const v = d && d.value;
    if (typeof v === "string" && /\.svc\.[^.]/.test(v)) e.push(`CHAT_DISCOVERY_DNS ${v} hard-codes the cluster domain: use ${h}, which the pod's DNS search list completes with <namespace>.svc.<domain>`);
    else if (![h, `${h}.$(POD_NAMESPACE)`, `${h}.$(POD_NAMESPACE).svc`].includes(v)) e.push(`CHAT_DISCOVERY_DNS is ${JSON.stringify(v)}, want ${JSON.stringify(h)}`);
    if (typeof v === "string" && v.includes("$(POD_NAMESPACE)")) {
      const ns = m.get("POD_NAMESPACE");
      if (fieldRef(ns) !== "metadata.namespace") e.push("POD_NAMESPACE must come from fieldRef metadata.namespace");
      else if (ns.index > d.index) e.push("POD_NAMESPACE must be defined before CHAT_DISCOVERY_DNS, or $(POD_NAMESPACE) stays literal");
    }
    return e;
  });
  add("env: listen on 0.0.0.0 (http, cluster, admin), ports agree with the container ports, every CHAT_ name is one the node reads", () => {
    const m = env();
    const e = [];
    for (const n of ["CHAT_HTTP_ADDR", "CHAT_CLUSTER_ADDR"]) if (!m.get(n) || m.get(n).value !== "0.0.0.0") e.push(`${n} must be 0.0.0.0`);
    if (!m.get("CHAT_ADMIN_ADDR") || m.get("CHAT_ADMIN_ADDR").value !== "0.0.0.0") e.push("CHAT_ADMIN_ADDR must be 0.0.0.0 (its default 127.0.0.1 is out of Prometheus' reach)");
    for (const [n, port, dflt] of [["CHAT_HTTP_PORT", "http", 8080], ["CHAT_CLUSTER_PORT", "cluster", 9100], ["CHAT_ADMIN_PORT", "admin", 9180]]) {
      const v = m.get(n);
      const want = (portNamed(port) || {}).containerPort;
      const got = v ? Number(v.value) : dflt;
      if (want !== undefined && got !== want) e.push(`${n} ${got} is not the ${port} container port ${want}`);
    }
    const known = knownChatEnv();
    if (known.size > 0) for (const n of m.keys()) if (n.startsWith("CHAT_") && !known.has(n)) e.push(`${n} is not a variable of docs/config.md or src/app/config.cpp`);
    return e;
  });
  add("probes: liveness GET /healthz, readiness GET /readyz (startup, if any, /healthz), on the http port", () => {
    const c = container();
    const e = [];
    const isGet = (pr, p) => pr && pr.httpGet && pr.httpGet.path === p && (pr.httpGet.port === "http" || pr.httpGet.port === 8080);
    if (!isGet(c.livenessProbe, "/healthz")) e.push("livenessProbe must be httpGet /healthz on port http");
    if (!isGet(c.readinessProbe, "/readyz")) e.push("readinessProbe must be httpGet /readyz on port http");
    if (c.startupProbe && !isGet(c.startupProbe, "/healthz")) e.push("startupProbe must be httpGet /healthz on port http");
    return e;
  });
  add("resources: cpu and memory requests and limits", () => {
    const r = container().resources || {};
    const e = [];
    for (const k of ["requests", "limits"]) for (const res of ["cpu", "memory"]) if (!r[k] || r[k][res] === undefined) e.push(`resources.${k}.${res} is missing`);
    return e;
  });
  add("image: an explicit tag or digest (never an implicit :latest)", () => {
    const img = parseImage(container().image);
    if (!img.tag && !img.digest) return [`image ${container().image} has no tag: it means :latest, a different build on every pull`];
    if (img.tag === "latest" && !img.digest) return [`image ${container().image}: :latest is a different build on every pull`];
    return [];
  });
  add("pod anti-affinity over kubernetes.io/hostname against the chat pods", () => {
    const aa = ((tpl().spec || {}).affinity || {}).podAntiAffinity || {};
    const terms = [
      ...(aa.requiredDuringSchedulingIgnoredDuringExecution || []),
      ...(aa.preferredDuringSchedulingIgnoredDuringExecution || []).map((w) => w.podAffinityTerm || {}),
    ];
    return terms.some((t) => t.topologyKey === "kubernetes.io/hostname" && selects(t.labelSelector, podLabels())) ? [] : ["no podAntiAffinity term with topologyKey kubernetes.io/hostname selecting the chat pods"];
  });
  add("terminationGracePeriodSeconds fits the preStop sleep and the drain (>= preStop + CHAT_DRAIN_GRACE_MS + 5 s, <= 60 s)", () => {
    const g = (tpl().spec || {}).terminationGracePeriodSeconds;
    const d = env().get("CHAT_DRAIN_GRACE_MS");
    const drainMs = d ? Number(d.value) : 2000;
    const pre = preStopSeconds(container());
    if (typeof g !== "number") return ["terminationGracePeriodSeconds is not set"];
    if (Number.isNaN(pre)) return ["the preStop hook is not a plain sleep (exec sleep N, or the sleep action): its length cannot be checked"];
    const e = [];
    if (g * 1000 < pre * 1000 + drainMs + 5000) e.push(`terminationGracePeriodSeconds ${g} is shorter than the drain: preStop ${pre} s + CHAT_DRAIN_GRACE_MS ${drainMs} ms + 5 s`);
    if (g > 60) e.push(`terminationGracePeriodSeconds ${g} is far longer than the drain needs`);
    return e;
  });
  add("client Service: a ClusterIP Service (not headless) on the http port of the chat pods; no Service carries http and admin together", () => {
    const e = [];
    const cs = servicesOfPods().filter((s) => (s.spec || {}).clusterIP !== "None");
    const ok = cs.filter((s) => (s.spec.ports || []).some((p) => targetNumber(p) === 8080));
    if (ok.length === 0) e.push("no non-headless Service selects the chat pods on port http");
    for (const s of servicesOfPods()) {
      const ports = (s.spec.ports || []).map(targetNumber);
      if (ports.includes(8080) && ports.includes(9180)) e.push(`${id(s)} carries the admin port next to http: clients would reach /metrics and the full /api/cluster`);
    }
    return e;
  });
  add("PodDisruptionBudget: selects the chat pods and lets one go at a time", () => {
    const pdbs = ofKind(set, "PodDisruptionBudget").filter((p) => selects((p.spec || {}).selector, podLabels()));
    if (pdbs.length !== 1) return [`expected one PodDisruptionBudget selecting the chat pods, found ${pdbs.length}`];
    const s = pdbs[0].spec;
    const replicas = need().spec.replicas || 1;
    if (s.maxUnavailable !== undefined) return s.maxUnavailable === 1 || s.maxUnavailable === "1" ? [] : [`maxUnavailable ${s.maxUnavailable}, want 1`];
    if (typeof s.minAvailable === "number") return s.minAvailable < replicas && s.minAvailable >= Math.floor(replicas / 2) + 1 ? [] : [`minAvailable ${s.minAvailable} with ${replicas} replicas`];
    return ["set maxUnavailable: 1"];
  });
  add("security: non-root numeric user, no service links (they would add CHAT_* variables)", () => {
    const ps = tpl().spec || {};
    const sc = ps.securityContext || {};
    const csc = container().securityContext || {};
    const e = [];
    if (sc.runAsNonRoot !== true && csc.runAsNonRoot !== true) e.push("runAsNonRoot must be true");
    const uid = csc.runAsUser ?? sc.runAsUser;
    if (!(Number.isInteger(uid) && uid > 0)) e.push("runAsUser must be a non-zero number");
    if (ps.enableServiceLinks !== false) e.push("enableServiceLinks must be false: the Service \"chat\" would inject CHAT_PORT, CHAT_SERVICE_HOST, ...");
    return e;
  });
  add("cluster TLS: CHAT_CLUSTER_TLS_CERT/KEY/CA are files of one read-only mount of a Secret volume", () => {
    const e = [];
    const vars = ["CHAT_CLUSTER_TLS_CERT", "CHAT_CLUSTER_TLS_KEY", "CHAT_CLUSTER_TLS_CA"];
    const mounts = container().volumeMounts || [];
    const vols = (tpl().spec || {}).volumes || [];
    for (const name of vars) {
      const v = env().get(name);
      if (!v || typeof v.value !== "string" || !v.value.startsWith("/")) {
        e.push(`${name} must be set to an absolute file path (the cluster port is plaintext without it)`);
        continue;
      }
      const m = mounts.find((x) => v.value.startsWith(x.mountPath.replace(/\/?$/, "/")));
      if (!m) { e.push(`${name}=${v.value} is in no volumeMount`); continue; }
      if (m.readOnly !== true) e.push(`volumeMount ${m.name} must be readOnly`);
      const vol = vols.find((x) => x.name === m.name);
      if (!vol || !vol.secret || !vol.secret.secretName) { e.push(`${name}: volume ${m.name} is not a Secret volume`); continue; }
      const file = v.value.slice(m.mountPath.replace(/\/?$/, "/").length);
      if (vol.secret.items && !vol.secret.items.some((it) => it.path === file)) e.push(`${name}: ${file} is not an item of Secret volume ${m.name}`);
    }
    return e;
  });
  add("data: CHAT_DATA_DIR is on a writable mount of a ReadWriteOnce claim template, fsGroup lets the node write it, claims are retained", () => {
    const e = [];
    const v = env().get("CHAT_DATA_DIR");
    if (!v || typeof v.value !== "string" || !v.value.startsWith("/")) return ["CHAT_DATA_DIR must be set to an absolute path (history would be in memory only)"];
    const dir = v.value.replace(/\/+$/, "");
    const m = (container().volumeMounts || [])
      .filter((x) => dir === x.mountPath.replace(/\/+$/, "") || dir.startsWith(x.mountPath.replace(/\/?$/, "/")))
      .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    const claim = m && (need().spec.volumeClaimTemplates || []).find((t) => (t.metadata || {}).name === m.name);
    if (!claim) return [`CHAT_DATA_DIR=${v.value} is not on a volumeClaimTemplate's mount (${m ? `volume ${m.name}` : "no volume: the read-only root"}): a rescheduled pod would lose its store`];
    if (m.readOnly === true) e.push(`volumeMount ${m.name} must not be readOnly: the node writes its store there`);
    if (m.subPath || m.subPathExpr) e.push(`volumeMount ${m.name}: no subPath (fsGroup does not apply to it)`);
    const modes = (claim.spec || {}).accessModes || [];
    if (!modes.includes("ReadWriteOnce") && !modes.includes("ReadWriteOncePod")) e.push(`volumeClaimTemplate ${m.name}: accessModes ${JSON.stringify(modes)} lacks ReadWriteOnce (one pod writes one store)`);
    if (modes.some((x) => x === "ReadWriteMany" || x === "ReadOnlyMany")) e.push(`volumeClaimTemplate ${m.name}: ${modes.join(", ")}: a store is one node's, never shared`);
    const ps = tpl().spec || {};
    const sc = ps.securityContext || {};
    const csc = container().securityContext || {};
    const uid = csc.runAsUser ?? sc.runAsUser;
    const gid = csc.runAsGroup ?? sc.runAsGroup;
    if (uid !== 0 && sc.fsGroup === undefined) e.push("the pod's securityContext needs fsGroup (the node runs as non-root; a new volume's root belongs to root)");
    else if (gid !== undefined && sc.fsGroup !== undefined && sc.fsGroup !== gid) e.push(`fsGroup ${sc.fsGroup} is not the node's group ${gid}`);
    const keep = need().spec.persistentVolumeClaimRetentionPolicy || {};
    for (const k of ["whenDeleted", "whenScaled"]) if (keep[k] === "Delete") e.push(`persistentVolumeClaimRetentionPolicy.${k} is Delete: the history of the cluster would go with a scale-down or a re-create`);
    return e;
  });
  return checks;
}
// ---------------------------------------------------------------- production rules

// The node's defaults (docs/config.md) for the limits the memory budget uses.
const NODE_DEFAULTS = {
  CHAT_MAX_CONNECTIONS: 20000,
  CHAT_MAX_QUEUE_BYTES: 4 << 20,
  CHAT_MAX_NODE_QUEUE_BYTES: 512 << 20,
  CHAT_MAX_NODE_ROOMS: 10000,
  CHAT_PEER_BACKLOG_BYTES: 64 << 20,
  CHAT_HISTORY: 50,
  CHAT_MAX_TEXT_CHARS: 4000,
};
// Measured costs (docs/benchmarks.md) and bounds (docs/kubernetes.md,
// "Memory"), in MiB unless named otherwise.
const MEMORY = {
  base: 48, // a node with its store open, alone ("restart": RSS 48 MiB)
  store: 64, // RocksDB: two 16 MiB write buffers and a 32 MiB block cache
  roomKiB: 34, // a room's window in memory ("restart": 81 - 48 MiB for 1000 rooms beside a peer)
  connectionKiB: 11.55, // an idle connection (scenario 3)
  slack: 1.1, // allocator fragmentation on top of the sum
  jsonPerChar: 6, // a code point JSON-escaped at worst (\u0001)
  messageOverhead: 300, // id, user, room, ts and the JSON around them
};
const MiB = 1 << 20;

// The memory a pod may need with its env; each term is a bound or a
// measured cost (docs/kubernetes.md has the same table).
function memoryBudget(v) {
  const n = (name) => v.envNumber(name, NODE_DEFAULTS[name]);
  const replicas = v.need().spec.replicas || 1;
  const terms = [
    ["node with its store open", MEMORY.base * MiB],
    ["RocksDB buffers and cache", MEMORY.store * MiB],
    [`${n("CHAT_MAX_NODE_ROOMS")} rooms in memory`, n("CHAT_MAX_NODE_ROOMS") * MEMORY.roomKiB * 1024],
    [`${n("CHAT_MAX_CONNECTIONS")} connections`, n("CHAT_MAX_CONNECTIONS") * MEMORY.connectionKiB * 1024],
    ["queued to clients (CHAT_MAX_NODE_QUEUE_BYTES)", n("CHAT_MAX_NODE_QUEUE_BYTES")],
    [`replicates to ${replicas - 1} peers (CHAT_PEER_BACKLOG_BYTES each)`, (replicas - 1) * n("CHAT_PEER_BACKLOG_BYTES")],
  ];
  const sum = terms.reduce((a, [, b]) => a + b, 0);
  return { terms, sum, need: sum * MEMORY.slack };
}

// The largest frame one connection gets at once: a room's history window of
// the longest messages (sent on every subscribe).
function largestFrame(v) {
  const n = (name) => v.envNumber(name, NODE_DEFAULTS[name]);
  return n("CHAT_HISTORY") * (n("CHAT_MAX_TEXT_CHARS") * MEMORY.jsonPerChar + MEMORY.messageOverhead);
}

// Which of a NetworkPolicy rule's ports admit `port` (TCP) of the pods.
function ruleAdmits(rule, port, portNamed) {
  const ports = rule.ports || [];
  if (ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol || "TCP") !== "TCP") return false;
    if (p.port === undefined) return true;
    const num = typeof p.port === "string" ? (portNamed(p.port) || {}).containerPort : p.port;
    return num === port || (p.endPort !== undefined && num <= port && port <= p.endPort);
  });
}

// A namespaceSelector that selects the namespace `name` and nothing else.
function selectsOnlyNamespace(sel, name) {
  if (!sel) return false;
  const ml = sel.matchLabels || {};
  if (ml["kubernetes.io/metadata.name"] === name) return true;
  return (sel.matchExpressions || []).some((x) => x.key === "kubernetes.io/metadata.name" && x.operator === "In" && (x.values || []).length === 1 && x.values[0] === name);
}

function productionChecks(set) {
  const checks = [];
  const add = checker(checks, "hardening");
  const v = view(set);
  const { need, tpl, podLabels, container, env, portNamed, targetNumber } = v;

  add("NetworkPolicy: 8080 from anywhere, 9100 only from the chat pods, 9180 only from the namespace monitoring", () => {
    const pols = ofKind(set, "NetworkPolicy").filter((p) => {
      const s = p.spec || {};
      const sel = s.podSelector || {};
      const all = Object.keys(sel.matchLabels || {}).length === 0 && (sel.matchExpressions || []).length === 0;
      return (all || selects(sel, podLabels())) && (s.policyTypes || ["Ingress"]).includes("Ingress");
    });
    if (pols.length === 0) return ["no NetworkPolicy selects the chat pods for Ingress: every pod of the cluster reaches 9100 and 9180"];
    const rules = pols.flatMap((p) => p.spec.ingress || []);
    const e = [];
    const admitting = (port) => rules.filter((r) => ruleAdmits(r, port, portNamed));
    if (!admitting(8080).some((r) => !r.from || r.from.length === 0)) e.push("port 8080 (http) is not admitted from anywhere: the Ingress controller and clients need it");
    const cluster = admitting(9100);
    if (cluster.length === 0) e.push("port 9100 (cluster) is admitted from nowhere: the nodes cannot reach each other");
    for (const r of cluster) {
      const from = r.from || [];
      if (from.length === 0 || !from.every((p) => p.podSelector && !p.namespaceSelector && !p.ipBlock && selects(p.podSelector, podLabels()))) e.push(`port 9100 (cluster) is admitted from more than the chat pods: ${JSON.stringify(r)}`);
    }
    const admin = admitting(9180);
    if (admin.length === 0) e.push("port 9180 (admin) is admitted from nowhere: Prometheus cannot scrape");
    for (const r of admin) {
      const from = r.from || [];
      if (from.length === 0 || !from.every((p) => !p.ipBlock && selectsOnlyNamespace(p.namespaceSelector, "monitoring"))) e.push(`port 9180 (admin) is admitted from more than the namespace monitoring: ${JSON.stringify(r)}`);
    }
    return e;
  });
  add("image: a pinned release from a registry (a version tag or a digest; not :dev, not :latest)", () => {
    const ref = container().image;
    const img = parseImage(ref);
    const e = [];
    if (!img.name.includes("/") || !/[.:]/.test(img.name.split("/")[0])) e.push(`image ${ref} names no registry: the cluster's machines would look for it on Docker Hub`);
    if (!img.digest && !/^v?\d+\.\d+\.\d+([-+.][0-9A-Za-z.-]+)?$/.test(img.tag || "")) e.push(`image ${ref} is not pinned: use a release tag (1.0.0) or a digest, not ${img.tag ? `:${img.tag}` : "an implicit :latest"}`);
    return e;
  });
  add("auth: CHAT_AUTH_SECRET is required (not optional), from a generated Secret whose hashed name the pod template carries (a new secret rolls the pods)", () => {
    const e = [];
    const a = env().get("CHAT_AUTH_SECRET");
    const ref = a && a.valueFrom && a.valueFrom.secretKeyRef;
    if (!ref) return ["CHAT_AUTH_SECRET must come from a secretKeyRef: without it anyone connects as any user"];
    if (ref.optional === true) e.push(`CHAT_AUTH_SECRET: secretKeyRef ${ref.name} is optional: a missing Secret would start the nodes without tokens`);
    const secret = ofKind(set, "Secret").find((s) => s.metadata.name === ref.name);
    if (!secret) return [...e, `no Secret ${ref.name} in the rendered manifests: generate it (secretGenerator) so that its name changes with its content`];
    if (!Object.keys({ ...(secret.data || {}), ...(secret.stringData || {}) }).includes(ref.key)) e.push(`Secret ${ref.name} has no key ${ref.key}`);
    if (!/-[a-z0-9]{10}$/.test(ref.name)) e.push(`Secret ${ref.name} has no content hash in its name: a changed secret would not roll the pods`);
    const ann = (tpl().metadata || {}).annotations || {};
    if (!Object.entries(ann).some(([k, x]) => k.startsWith("checksum/") && x === ref.name)) e.push(`no checksum/ annotation on the pod template with the Secret's name ${ref.name}`);
    return e;
  });
  add("zone spread: topologySpreadConstraints on topology.kubernetes.io/zone over the chat pods, maxSkew 1", () => {
    const tsc = (tpl().spec || {}).topologySpreadConstraints || [];
    const t = tsc.find((x) => x.topologyKey === "topology.kubernetes.io/zone");
    if (!t) return ["no topologySpreadConstraints entry on topology.kubernetes.io/zone: one zone's outage could take every node"];
    const e = [];
    if (!selects(t.labelSelector, podLabels())) e.push("the zone spread's labelSelector does not select the chat pods");
    if (t.maxSkew !== 1) e.push(`zone spread maxSkew ${t.maxSkew}, want 1`);
    return e;
  });
  add("preStop: a sleep of 1 to 10 s, within the grace period with the drain", () => {
    const pre = preStopSeconds(container());
    const g = (tpl().spec || {}).terminationGracePeriodSeconds;
    const d = env().get("CHAT_DRAIN_GRACE_MS");
    const drainMs = d ? Number(d.value) : 2000;
    if (pre === 0) return ["no preStop sleep: load balancers still sending new requests to a draining node get 503 for a few seconds"];
    if (Number.isNaN(pre)) return ["the preStop hook is not a plain sleep"];
    if (pre > 10) return [`preStop sleeps ${pre} s: longer than an endpoint update takes, it only delays the drain`];
    if (typeof g === "number" && pre * 1000 >= g * 1000 - drainMs) return [`preStop ${pre} s is not shorter than the grace period ${g} s minus the drain grace ${drainMs} ms`];
    return [];
  });
  add("admin port: a headless Service with publishNotReadyAddresses carries it, a ServiceMonitor scrapes /metrics there", () => {
    const e = [];
    const svcs = v.servicesOfPods().filter((s) => (s.spec.ports || []).some((p) => targetNumber(p) === 9180));
    if (svcs.length === 0) return ["no Service selects the chat pods on the admin port"];
    const mons = ofKind(set, "ServiceMonitor");
    if (mons.length === 0) return ["no ServiceMonitor: nothing scrapes /metrics"];
    let scraped = false;
    for (const m of mons) {
      const sel = (m.spec || {}).selector;
      const targets = svcs.filter((s) => selects(sel, s.metadata.labels || {}));
      if (targets.length === 0) {
        e.push(`${id(m)} selects no Service that carries the admin port`);
        continue;
      }
      for (const ep of (m.spec.endpoints || [])) {
        for (const s of targets) {
          const p = (s.spec.ports || []).find((x) => x.name === ep.port);
          if (!p) e.push(`${id(m)}: endpoint port ${JSON.stringify(ep.port)} names no port of ${id(s)}`);
          else if (targetNumber(p) !== 9180) e.push(`${id(m)}: endpoint port ${ep.port} is not the admin port (9180), where /metrics is served`);
          else if ((ep.path || "/metrics") !== "/metrics") e.push(`${id(m)}: path ${ep.path}, want /metrics`);
          else scraped = true;
          if (s.spec.clusterIP !== "None" || s.spec.publishNotReadyAddresses !== true) e.push(`${id(s)} must be headless with publishNotReadyAddresses: a pod that is not ready must still be scraped`);
        }
      }
    }
    if (!scraped && e.length === 0) e.push("no ServiceMonitor endpoint scrapes /metrics on the admin port");
    return [...new Set(e)];
  });
  add("memory: request = limit, and the limit covers the budget of docs/kubernetes.md (connections, rooms, queues, peers, store) + 10 %", () => {
    const r = container().resources || {};
    const lim = parseQuantity((r.limits || {}).memory);
    const req = parseQuantity((r.requests || {}).memory);
    if (!(lim > 0)) return ["resources.limits.memory is missing"];
    const e = [];
    if (req !== lim) e.push(`memory request ${(r.requests || {}).memory} is not the limit ${r.limits.memory}: under memory pressure the pod would be evicted before its limit`);
    const b = memoryBudget(v);
    if (lim < b.need) e.push(`memory limit ${r.limits.memory} is below the budget ${(b.need / MiB).toFixed(0)} MiB: ${b.terms.map(([t, x]) => `${t} ${(x / MiB).toFixed(0)}`).join(" + ")}, + ${Math.round((MEMORY.slack - 1) * 100)} %`);
    return e;
  });
  add("queues: CHAT_MAX_QUEUE_BYTES below the 4 MiB default and above the largest history frame; CHAT_MAX_NODE_QUEUE_BYTES set", () => {
    const m = env();
    const e = [];
    const q = m.get("CHAT_MAX_QUEUE_BYTES");
    const floor = largestFrame(v);
    if (!q) e.push("CHAT_MAX_QUEUE_BYTES is not set: 4 MiB per connection");
    else if (!(Number(q.value) < NODE_DEFAULTS.CHAT_MAX_QUEUE_BYTES)) e.push(`CHAT_MAX_QUEUE_BYTES ${q.value} is not below the default 4 MiB`);
    else if (Number(q.value) < floor) e.push(`CHAT_MAX_QUEUE_BYTES ${q.value} is below the largest history frame (${floor} bytes: CHAT_HISTORY messages of CHAT_MAX_TEXT_CHARS escaped code points): joining a room of long messages would close the connection`);
    if (!m.get("CHAT_MAX_NODE_QUEUE_BYTES")) e.push("CHAT_MAX_NODE_QUEUE_BYTES is not set: the 512 MiB default does not fit the memory limit");
    return e;
  });
  add("public URL: CHAT_PUBLIC_URL is https, an Ingress routes its host to the client Service, CHAT_ALLOWED_ORIGINS admits it", () => {
    const m = env();
    const e = [];
    const u = m.get("CHAT_PUBLIC_URL");
    let url;
    try {
      url = new URL(u && u.value);
    } catch {
      return ["CHAT_PUBLIC_URL is not set to a URL: pages would be told the pod's own http://IP:8080, which browsers cannot reach"];
    }
    if (url.protocol !== "https:") e.push(`CHAT_PUBLIC_URL ${u.value} is not https`);
    const origin = url.origin;
    const allowed = ((m.get("CHAT_ALLOWED_ORIGINS") || {}).value || "").split(",").map((x) => x.trim().replace(/\/$/, ""));
    if (!allowed.includes(origin) && !allowed.includes("*")) e.push(`CHAT_ALLOWED_ORIGINS does not list ${origin}: behind a TLS-terminating Ingress the node's same-origin rule (http://HOST) refuses the page's WebSocket`);
    const routes = ofKind(set, "Ingress").flatMap((i) => ((i.spec || {}).rules || []).filter((r) => r.host === url.hostname).flatMap((r) => ((r.http || {}).paths || []).map((p) => p.backend && p.backend.service)));
    if (!routes.some((s) => s && s.name === "chat")) e.push(`no Ingress rule for host ${url.hostname} sends it to the Service chat`);
    return e;
  });
  add("Ingress: nginx WebSocket timeouts (proxy-read-timeout, proxy-send-timeout) above the 60 s default; only the http port behind it", () => {
    const ings = ofKind(set, "Ingress");
    if (ings.length === 0) return ["no Ingress"];
    const e = [];
    for (const i of ings) {
      const a = i.metadata.annotations || {};
      for (const k of ["proxy-read-timeout", "proxy-send-timeout"]) {
        const x = a[`nginx.ingress.kubernetes.io/${k}`];
        if (!(Number(x) > 60)) e.push(`${id(i)}: nginx.ingress.kubernetes.io/${k} is ${JSON.stringify(x)}: at the 60 s default nginx cuts WebSockets that are quiet in one direction`);
      }
      for (const r of (i.spec || {}).rules || []) {
        for (const p of (r.http || {}).paths || []) {
          const s = p.backend && p.backend.service;
          const svc = s && ofKind(set, "Service").find((x) => x.metadata.name === s.name);
          const sp = svc && (svc.spec.ports || []).find((x) => (s.port.name !== undefined ? x.name === s.port.name : x.port === s.port.number));
          if (sp && targetNumber(sp) !== 8080) e.push(`${id(i)}: ${r.host}${p.path} goes to port ${targetNumber(sp)}, not http (8080)`);
        }
      }
    }
    return e;
  });
  return checks;
}
// ---------------------------------------------------------------- the Grafana dashboard

// The metrics /metrics exports and their types, from the sources that
// declare them: f.gauge("NAME"/f.counter("NAME" in src/net/metrics_page.cpp,
// histogram/counter/labelled(*registry_, "NAME" in src/base/node_metrics.cpp,
// one("NAME", help, MetricType::T in src/base/process_metrics.cpp.
const METRIC_SOURCES = ["src/net/metrics_page.cpp", "src/base/node_metrics.cpp", "src/base/process_metrics.cpp"];
function exportedMetrics(sourceText) {
  const m = new Map();
  for (const x of sourceText.matchAll(/\bf\.(gauge|counter)\(\s*"(chat_[a-z0-9_]+)"/g)) m.set(x[2], x[1]);
  for (const x of sourceText.matchAll(/\b(histogram|counter|labelled)\(\s*\*registry_,\s*"(chat_[a-z0-9_]+)"/g)) m.set(x[2], x[1] === "labelled" ? "counter" : x[1]);
  for (const x of sourceText.matchAll(/\bone\(\s*"(process_[a-z0-9_]+)",\s*"[^"]*",\s*MetricType::(Counter|Gauge)/g)) m.set(x[1], x[2].toLowerCase());
  return m;
}

// A queried name's family and type: a histogram's _bucket, _sum and _count
// series are counters of the histogram's family.
function metricType(exported, name) {
  if (exported.has(name)) return exported.get(name);
  const h = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (h && exported.get(h[1]) === "histogram") return "counter";
  return undefined;
}

// What an operator looks at; each needs a panel (a metric name or a prefix).
const DASHBOARD_NEEDS = [
  ["connections", /^chat_connections$/],
  ["deliveries/s", /^chat_deliveries_total$/],
  ["messages/s", /^chat_messages_(published|in)_total$/],
  ["drops", /^chat_drops_/],
  ["queued bytes", /^chat_queued_bytes$/],
  ["peers", /^chat_cluster_peers$/],
  ["ready", /^chat_ready$/],
  ["store writable", /^chat_store_writable$/],
  ["restarts", /^chat_(server_)?restarts_total$/],
  ["publish-to-ack latency", /^chat_publish_ack_seconds_bucket$/],
  ["replication round trip", /^chat_replication_rtt_seconds_bucket$/],
  ["delivery lag", /^chat_delivery_lag_seconds_bucket$/],
  ["connections closed by reason", /^chat_connections_closed_total$/],
  ["upgrade refusals", /^chat_upgrade_refusals_total$/],
  ["peers up and down", /^chat_peer_(up|down)_total$/],
  ["discovery errors", /^chat_discovery_errors_total$/],
  ["CPU", /^process_cpu_seconds_total$/],
  ["memory", /^process_resident_memory_bytes$/],
  ["open fds", /^process_open_fds$/],
  ["version", /^chat_build_info$/],
];

function dashboardChecks(d) {
  const checks = [];
  const name = (s) => `dashboard ${d.file}: ${s}`;
  let dash;
  try {
    dash = JSON.parse(d.text);
  } catch (e) {
    return [{ name: name("well-formed JSON"), errors: [`not JSON: ${e.message}`] }];
  }
  checks.push({ name: name("well-formed JSON"), errors: [] });
  const panels = [];
  const walk = (ps) => {
    for (const p of ps || []) {
      panels.push(p);
      walk(p.panels);
    }
  };
  walk(dash.panels);
  const shown = panels.filter((p) => p.type !== "row");
  const vars = ((dash.templating || {}).list || []);
  const exprs = [
    ...shown.flatMap((p) => (p.targets || []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
    ...vars.filter((x) => x.type === "query").map((x) => ({ where: `variable ${x.name}`, expr: typeof x.query === "string" ? x.query : (x.query || {}).query })),
  ];

  checks.push({
    name: name("the datasource is a variable of type datasource (prometheus) that every panel, target and query variable uses"),
    errors: (() => {
      const dsVar = vars.find((x) => x.type === "datasource" && x.query === "prometheus");
      if (!dsVar) return ["no templating variable of type datasource with query prometheus"];
      const refs = new Set([`$${dsVar.name}`, `\${${dsVar.name}}`]);
      const uses = (ds) => (typeof ds === "string" ? refs.has(ds) : !!ds && refs.has(ds.uid));
      const e = [];
      for (const p of shown) {
        if (!uses(p.datasource)) e.push(`panel "${p.title}": datasource ${JSON.stringify(p.datasource)} is not $${dsVar.name}`);
        for (const t of p.targets || []) if (t.datasource !== undefined && !uses(t.datasource)) e.push(`panel "${p.title}" target ${t.refId}: datasource ${JSON.stringify(t.datasource)} is not $${dsVar.name}`);
      }
      for (const x of vars) if (x.type === "query" && !uses(x.datasource)) e.push(`variable ${x.name}: datasource ${JSON.stringify(x.datasource)} is not $${dsVar.name}`);
      return e;
    })(),
  });

  const exported = exportedMetrics(d.sources || "");
  checks.push({
    name: name("every metric it queries is exported (the metrics sources); counters only inside rate()/increase(), gauges never"),
    errors: (() => {
      if (exported.size === 0) return [`no metric found in ${METRIC_SOURCES.join(", ")}: update exportedMetrics()`];
      const e = [];
      for (const { where, expr } of exprs) {
        if (typeof expr !== "string" || !expr.trim()) {
          e.push(`${where}: empty query`);
          continue;
        }
        for (const m of expr.matchAll(/\b(chat|process)_[a-zA-Z0-9_]+/g)) {
          const type = metricType(exported, m[0]);
          const inRate = /\b(rate|irate|increase)\s*\(\s*$/.test(expr.slice(0, m.index));
          if (!type) e.push(`${where}: ${m[0]} is not exported by /metrics`);
          else if (type === "counter" && !inRate) e.push(`${where}: ${m[0]} is a counter: query its rate() or increase(), not its value`);
          else if (type === "gauge" && inRate) e.push(`${where}: ${m[0]} is a gauge: rate() of it means nothing`);
        }
      }
      return e;
    })(),
  });

  checks.push({
    name: name(`a panel for each of: ${DASHBOARD_NEEDS.map(([n]) => n).join(", ")}`),
    errors: (() => {
      const used = new Set(exprs.filter((x) => !x.where.startsWith("variable")).flatMap(({ expr }) => [...String(expr).matchAll(/\b(chat|process)_[a-zA-Z0-9_]+/g)].map((m) => m[0])));
      return DASHBOARD_NEEDS.filter(([, re]) => ![...used].some((m) => re.test(m))).map(([n, re]) => `no panel shows ${n} (${re.source})`);
    })(),
  });

  checks.push({
    name: name("title, uid, unique panel ids, panels inside 24 columns and not overlapping"),
    errors: (() => {
      const e = [];
      if (!dash.title || !dash.uid) e.push("title and uid are required (uid: a stable link and import target)");
      const ids = panels.map((p) => p.id);
      if (ids.some((x) => !Number.isInteger(x)) || new Set(ids).size !== ids.length) e.push("panel ids must be unique integers");
      const boxes = panels.map((p) => ({ t: p.title, ...(p.gridPos || {}) }));
      for (const b of boxes) if (![b.x, b.y, b.w, b.h].every(Number.isInteger) || b.x < 0 || b.x + b.w > 24) e.push(`panel "${b.t}": gridPos ${JSON.stringify(b)} is not inside 24 columns`);
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i];
          const b = boxes[j];
          if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) e.push(`panels "${a.t}" and "${b.t}" overlap`);
        }
      }
      return e;
    })(),
  });
  return checks;
}
// ---------------------------------------------------------------- the Dockerfile

function dockerfileChecks(set) {
  const checks = [];
  const add = checker(checks, "design");
  const { sts, tpl, container } = view(set);
  add("Dockerfile: debian:12 build stage, debian:12-slim runtime with the CAF libraries, non-root USER = runAsUser, EXPOSE 8080 9100 9180", () => {
    const d = set.dockerfile;
    if (d === null || d === undefined) return ["no Dockerfile"];
    const e = [];
    const text = d.replace(/\\\n/g, " ");
    const lines = text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
    const froms = lines.filter((l) => /^FROM\s/i.test(l));
    if (!froms.some((l) => /^FROM\s+debian:12\s+AS\s+build$/i.test(l))) e.push("no `FROM debian:12 AS build` stage");
    if (!/^FROM\s+debian:12-slim\b/i.test(froms[froms.length - 1] || "")) e.push("the last stage is not FROM debian:12-slim");
    const lastFrom = lines.lastIndexOf(froms[froms.length - 1]);
    const runtime = lines.slice(lastFrom);
    const build = lines.slice(0, lastFrom);
    if (!build.some((l) => /cmake\s+-S\s+\.\s+-B\s+build\s+-DCMAKE_BUILD_TYPE=Release/.test(l))) e.push("the build stage does not configure with cmake -S . -B build -DCMAKE_BUILD_TYPE=Release");
    if (!build.some((l) => /cmake\s+--build\s+build\s+--target\s+chatd/.test(l))) e.push("the build stage does not build --target chatd");
    if (!runtime.some((l) => /^COPY\s+--from=build\s+\S*build\/chatd\s/i.test(l))) e.push("the runtime stage does not COPY --from=build the chatd binary");
    for (const p of ["libcaf-core0.17", "libcaf-io0.17", "libcaf-openssl0.17"]) if (!runtime.some((l) => /^RUN\s/i.test(l) && l.includes(p))) e.push(`the runtime stage does not install ${p}`);
    const user = runtime.filter((l) => /^USER\s/i.test(l)).pop();
    const uid = user ? Number(user.split(/\s+/)[1].split(":")[0]) : NaN;
    if (!(Number.isInteger(uid) && uid > 0)) e.push("the runtime stage has no numeric non-root USER");
    else if (sts) {
      const ps = tpl().spec || {};
      const want = (container().securityContext || {}).runAsUser ?? (ps.securityContext || {}).runAsUser;
      if (want !== undefined && want !== uid) e.push(`USER ${uid} is not the StatefulSet's runAsUser ${want}`);
    }
    const exposed = runtime.filter((l) => /^EXPOSE\s/i.test(l)).flatMap((l) => l.split(/\s+/).slice(1)).map((p) => Number(p.split("/")[0]));
    for (const p of [8080, 9100, 9180]) if (!exposed.includes(p)) e.push(`EXPOSE ${p} is missing`);
    if (!runtime.some((l) => /^(ENTRYPOINT|CMD)\s.*chatd/i.test(l))) e.push("no ENTRYPOINT running chatd");
    // The development packages a local build installs (scripts/install-deps.sh)
    // are what the image's build needs too.
    const deps = set.buildDeps || [];
    const buildRuns = build.filter((l) => /^RUN\s/i.test(l)).join(" ");
    for (const p of deps) if (/-dev$/.test(p) && !new RegExp(`(^|\\s)${p.replace(/[.+]/g, "\\$&")}(\\s|$)`).test(buildRuns)) e.push(`the build stage does not install ${p} (scripts/install-deps.sh builds with it)`);
    return e;
  });
  return checks;
}

// Runtime packages the Dockerfile's last stage installs with apt-get.
function runtimePackages(dockerfile) {
  const text = dockerfile.replace(/\\\n/g, " ");
  const stages = text.split(/^FROM\s/im);
  const last = stages[stages.length - 1];
  const pkgs = new Set();
  for (const m of last.matchAll(/apt-get\s+install\s+([^&;\n]*)/g)) for (const w of m[1].split(/\s+/)) if (w && !w.startsWith("-")) pkgs.add(w);
  return pkgs;
}

// The packages apt installs along with `pkgs`: their Depends and PreDepends,
// recursively (apt-cache, from the package lists); null without the lists.
function dependencyClosure(pkgs, run) {
  if (pkgs.size === 0) return new Set();
  const r = run("apt-cache", ["depends", "--recurse", "--important", ...pkgs]);
  if (r.status !== 0) return null;
  const out = new Set();
  for (const line of r.stdout.split("\n")) {
    const m = /^(?:\s+\|?(?:Pre)?Depends:\s+)?<?([a-z0-9][a-z0-9+.-]+)(?::[a-z0-9]+)?>?\s*$/.exec(line);
    if (m) out.add(m[1]);
  }
  return out;
}

// Checks that need this machine's Debian tools; skipped when they cannot run.
function hostChecks(set) {
  const checks = [];
  if (!set.dockerfile) return checks;
  const pkgs = runtimePackages(set.dockerfile);
  const run = (cmd, args) => spawnSync(cmd, args, { encoding: "utf8" });
  // 1. Every shared library of the built node comes from an installed package.
  const bin = process.env.CHATD_BIN || path.join(repo, "build/chatd");
  const name1 = "Dockerfile: the runtime stage installs the package of every shared library build/chatd links (itself or as a dependency)";
  const ldd = fs.existsSync(bin) ? run("ldd", [bin]) : null;
  if (!ldd || ldd.status !== 0 || run("dpkg", ["--version"]).status !== 0) {
    checks.push({ name: name1, skip: fs.existsSync(bin) ? "ldd or dpkg is not available" : `no binary at ${bin}` });
  } else {
    // Already in debian:12-slim (apt needs them).
    const base = new Set(["libc6", "libgcc-s1", "libstdc++6", "libcrypt1", "zlib1g"]);
    // A library of a package that a listed one depends on comes with it.
    const pulled = dependencyClosure(pkgs, run) || new Set();
    const errors = [];
    for (const line of ldd.stdout.split("\n")) {
      const m = /=>\s+(\/\S+)/.exec(line);
      if (!m) continue;
      const real = fs.realpathSync(m[1]);
      let owner = null;
      for (const p of [m[1], real, m[1].replace(/^\/lib/, "/usr/lib"), real.replace(/^\/lib/, "/usr/lib")]) {
        const r = run("dpkg", ["-S", p]);
        if (r.status === 0) {
          owner = r.stdout.split(":")[0].trim();
          break;
        }
      }
      if (!owner) errors.push(`${m[1]}: no Debian package owns it`);
      else if (!pkgs.has(owner) && !base.has(owner) && !pulled.has(owner)) errors.push(`${path.basename(m[1])} comes from ${owner}, which the runtime stage does not install (nor anything it installs depends on it)`);
    }
    checks.push({ name: name1, errors });
  }
  // 2. Every runtime package exists in the Debian archive (apt lists needed).
  const name2 = "Dockerfile: every runtime package exists in Debian 12 (apt-cache)";
  const probe = run("apt-cache", ["show", "libc6"]);
  if (probe.status !== 0 || !probe.stdout.includes("Package:")) {
    checks.push({ name: name2, skip: "apt-cache has no package lists (run apt-get update)" });
  } else {
    const errors = [];
    for (const p of pkgs) {
      const r = run("apt-cache", ["show", "--no-all-versions", p]);
      if (r.status !== 0 || !r.stdout.includes(`Package: ${p}`)) errors.push(`${p} is not a Debian package here`);
    }
    checks.push({ name: name2, errors });
  }
  return checks;
}

// ---------------------------------------------------------------- all checks on one rendered set

function runChecks(set, { host = false } = {}) {
  const checks = [];
  for (const f of set.files) {
    checks.push({ name: `${f.file}: YAML parses (YAML 1.1, unique keys)`, errors: f.parseErrors });
    for (const obj of f.docs) {
      const okShape = obj && typeof obj === "object" && !Array.isArray(obj);
      const crd = okShape && typeof obj.apiVersion === "string" && CRD_PACKAGES[obj.apiVersion.split("/")[0]];
      checks.push({ name: `${f.file} ${id(obj)}: schema (${crd ? CRD_SCHEMA_SOURCE : SCHEMA_SOURCE}, strict)`, errors: okShape ? schemaErrors(obj) : ["not a mapping"] });
      if (okShape) checks.push({ name: `${f.file} ${id(obj)}: Kubernetes rules beyond the schema`, errors: kubeRuleErrors(set, obj) });
    }
  }
  const prefix = (cs) => cs.map((c) => ({ ...c, name: `${set.name}: ${c.name}` }));
  checks.push(...prefix(designChecks(set)));
  if (set.name === "production") checks.push(...prefix(productionChecks(set)));
  if (set.dockerfile !== undefined) checks.push(...dockerfileChecks(set));
  if (host) checks.push(...hostChecks(set));
  return checks;
}

// ---------------------------------------------------------------- negative checks

const stsOf = (s) => ofKind(s, "StatefulSet")[0];
const ctrOf = (s) => stsOf(s).spec.template.spec.containers[0];
const envOf = (s, n) => ctrOf(s).env.find((e) => e.name === n);
const dropEnv = (s, n) => { const env = ctrOf(s).env; env.splice(env.findIndex((e) => e.name === n), 1); };
const headlessOf = (s) => ofKind(s, "Service").find((x) => x.spec.clusterIP === "None" && x.spec.ports.some((p) => p.port === 9100));
const named = (s, kind, n) => ofKind(s, kind).find((x) => x.metadata.name === n);
const dropKind = (s, kind) => { for (const f of s.files) f.docs = f.docs.filter((d) => d.kind !== kind); };
const policyRule = (s, port) => named(s, "NetworkPolicy", "chat").spec.ingress.find((r) => (r.ports || []).some((p) => p.port === port));
// Edits the rendered text and parses it again (for what only the YAML shows).
const editText = (s, fn) => {
  const f = s.files[0];
  f.text = fn(f.text);
  Object.assign(f, parseSet({ files: [{ file: f.file, text: f.text }] }).files[0]);
};
// Edits a source kustomization (a parsed copy, written back as JSON, which is YAML).
const editKustomization = (t, dir, fn) => {
  const file = pjoin(dir, "kustomization.yaml");
  const k = parseYaml(t.files[file]).docs[0];
  fn(k);
  t.files[file] = JSON.stringify(k);
};
const editDashboard = (d, fn) => {
  const j = JSON.parse(d.text);
  fn(j);
  d.text = JSON.stringify(j);
};
const dashPanel = (j, title) => j.panels.find((p) => p.title === title);

// [what it breaks, target, mutation, the error it must cause]. Targets: the
// rendered dev or production set, the source tree, the dashboard.
const MUTATIONS = [
  ["replicas as a string", "dev", (s) => { stsOf(s).spec.replicas = "3"; }, /replicas must be integer/],
  ["containerPort not a number", "dev", (s) => { ctrOf(s).ports[0].containerPort = "eighty"; }, /containerPort must be integer/],
  ["misspelt field readinessProbes", "dev", (s) => { const c = ctrOf(s); c.readinessProbes = c.readinessProbe; delete c.readinessProbe; }, /unknown field "readinessProbes"/],
  ["unknown field in the Service spec", "dev", (s) => { headlessOf(s).spec.publishNotReady = true; }, /unknown field "publishNotReady"/],
  ["container without a name", "dev", (s) => { delete ctrOf(s).name; }, /must have required property 'name'|required property name/],
  ["apiVersion without a schema", "dev", (s) => { stsOf(s).apiVersion = "apps/v1beta9"; }, /no schema for apiVersion apps\/v1beta9/],
  ["env value `yes` read as a boolean (YAML 1.1)", "dev", (s) => editText(s, (t) => t.replace(/value: info\b/, "value: yes")), /value must be string/],
  ["duplicate YAML key", "dev", (s) => editText(s, (t) => t.replace(/^(\s*)maxUnavailable: 1$/m, "$1maxUnavailable: 1\n$1maxUnavailable: 2")), /[Mm]ap keys must be unique/],
  ["selector that misses the template labels", "dev", (s) => { stsOf(s).spec.selector.matchLabels = { app: "other" }; }, /does not select spec.template/],
  ["port name longer than 15 characters", "dev", (s) => { ctrOf(s).ports[1].name = "cluster-peer-port"; }, /IANA_SVC_NAME/],
  ["probe on a port name the container lacks", "dev", (s) => { ctrOf(s).livenessProbe.httpGet.port = "web"; }, /port "web" that the container does not name/],
  ["$(VAR) used before it is defined", "dev", (s) => { ctrOf(s).env.unshift({ name: "CHAT_PUBLIC_URL", value: "http://$(CHAT_ADVERTISE_ADDR):8080" }); }, /not defined before it/],
  ["headless Service without publishNotReadyAddresses", "dev", (s) => { headlessOf(s).spec.publishNotReadyAddresses = false; }, /publishNotReadyAddresses must be true/],
  ["no headless Service (clusterIP removed)", "dev", (s) => { delete headlessOf(s).spec.clusterIP; }, /exactly one headless Service/],
  ["serviceName that is not the headless Service", "dev", (s) => { stsOf(s).spec.serviceName = "chat"; }, /not the headless Service|not headless/],
  ["liveness on /readyz", "dev", (s) => { ctrOf(s).livenessProbe.httpGet.path = "/readyz"; }, /livenessProbe must be httpGet \/healthz/],
  ["readiness on /healthz", "dev", (s) => { ctrOf(s).readinessProbe.httpGet.path = "/healthz"; }, /readinessProbe must be httpGet \/readyz/],
  ["CHAT_ADVERTISE_ADDR missing", "dev", (s) => dropEnv(s, "CHAT_ADVERTISE_ADDR"), /CHAT_ADVERTISE_ADDR must come from fieldRef status.podIP/],
  ["CHAT_NODE_NAME from the wrong field", "dev", (s) => { envOf(s, "CHAT_NODE_NAME").valueFrom.fieldRef.fieldPath = "spec.nodeName"; }, /CHAT_NODE_NAME must come from fieldRef metadata.name/],
  ["discovery name of another Service", "dev", (s) => { envOf(s, "CHAT_DISCOVERY_DNS").value = "chat"; }, /CHAT_DISCOVERY_DNS is "chat"/],
  ["discovery name with the cluster domain hard-coded", "dev", (s) => { envOf(s, "CHAT_DISCOVERY_DNS").value = "chat-headless.chat.svc.cluster.local"; }, /hard-codes the cluster domain/],
  ["a CHAT_ variable the node does not read", "dev", (s) => { ctrOf(s).env.push({ name: "CHAT_ADVERTISE_ADDRESS", value: "x" }); }, /CHAT_ADVERTISE_ADDRESS is not a variable of docs\/config.md/],
  ["memory limit missing", "dev", (s) => { delete ctrOf(s).resources.limits.memory; }, /resources.limits.memory is missing/],
  ["request above its limit", "dev", (s) => { ctrOf(s).resources.requests.memory = "1Gi"; }, /memory request 1Gi is above its limit/],
  ["image without a tag", "dev", (s) => { ctrOf(s).image = "chatd"; }, /has no tag/],
  ["no pod anti-affinity", "dev", (s) => { delete stsOf(s).spec.template.spec.affinity; }, /no podAntiAffinity term/],
  ["terminationGracePeriodSeconds shorter than the drain", "dev", (s) => { stsOf(s).spec.template.spec.terminationGracePeriodSeconds = 2; }, /shorter than the drain/],
  ["service links on", "dev", (s) => { stsOf(s).spec.template.spec.enableServiceLinks = true; }, /enableServiceLinks must be false/],
  ["client Service targetPort no container has", "dev", (s) => { named(s, "Service", "chat").spec.ports[0].targetPort = "web"; }, /targetPort "web" is not a container port name/],
  ["PodDisruptionBudget that selects nothing", "dev", (s) => { ofKind(s, "PodDisruptionBudget")[0].spec.selector.matchLabels = { app: "nothing" }; }, /selects no pods/],
  ["cluster TLS variables removed (plaintext cluster port)", "dev", (s) => dropEnv(s, "CHAT_CLUSTER_TLS_KEY"), /CHAT_CLUSTER_TLS_KEY must be set/],
  ["cluster TLS key outside the Secret mount", "dev", (s) => { envOf(s, "CHAT_CLUSTER_TLS_KEY").value = "/tmp/tls.key"; }, /CHAT_CLUSTER_TLS_KEY=\/tmp\/tls.key is not a Secret volume|volume tmp is not a Secret volume/],
  ["data dir on the /tmp emptyDir", "dev", (s) => { envOf(s, "CHAT_DATA_DIR").value = "/tmp/history"; }, /CHAT_DATA_DIR=\/tmp\/history is not on a volumeClaimTemplate's mount \(volume tmp/],
  ["data dir on the read-only root", "dev", (s) => { envOf(s, "CHAT_DATA_DIR").value = "/data"; }, /CHAT_DATA_DIR=\/data is not on a volumeClaimTemplate's mount \(no volume/],
  ["CHAT_DATA_DIR removed (memory only)", "dev", (s) => dropEnv(s, "CHAT_DATA_DIR"), /CHAT_DATA_DIR must be set/],
  ["volumeClaimTemplates removed", "dev", (s) => { delete stsOf(s).spec.volumeClaimTemplates; }, /volumeMount data has no volume/],
  ["data mount read-only", "dev", (s) => { ctrOf(s).volumeMounts.find((m) => m.name === "data").readOnly = true; }, /volumeMount data must not be readOnly/],
  ["no fsGroup (the non-root node cannot write the volume)", "dev", (s) => { delete stsOf(s).spec.template.spec.securityContext.fsGroup; }, /needs fsGroup/],
  ["data claim shared (ReadWriteMany)", "dev", (s) => { stsOf(s).spec.volumeClaimTemplates[0].spec.accessModes = ["ReadWriteMany"]; }, /lacks ReadWriteOnce/],
  ["data claim without a storage request", "dev", (s) => { delete stsOf(s).spec.volumeClaimTemplates[0].spec.resources; }, /resources.requests.storage is missing/],
  ["claims deleted on scale-down", "dev", (s) => { stsOf(s).spec.persistentVolumeClaimRetentionPolicy.whenScaled = "Delete"; }, /whenScaled is Delete/],
  ["claim template named like a pod volume", "dev", (s) => { stsOf(s).spec.volumeClaimTemplates[0].metadata.name = "tmp"; }, /has the name of a pod volume too/],
  ["admin container port removed", "dev", (s) => { const p = ctrOf(s).ports; p.splice(p.findIndex((x) => x.name === "admin"), 1); }, /no container port admin 9180/],
  ["admin listener left on 127.0.0.1", "dev", (s) => dropEnv(s, "CHAT_ADMIN_ADDR"), /CHAT_ADMIN_ADDR must be 0.0.0.0/],
  ["admin port on the client Service", "dev", (s) => { named(s, "Service", "chat").spec.ports.push({ name: "admin", port: 9180, targetPort: "admin", protocol: "TCP" }); }, /carries the admin port next to http/],
  ["Dockerfile without EXPOSE 9180", "dev", (s) => { s.dockerfile = s.dockerfile.replace(/^(EXPOSE .*) 9180/m, "$1"); }, /EXPOSE 9180 is missing/],
  ["Dockerfile runtime stage running as root", "dev", (s) => { s.dockerfile = s.dockerfile.replace(/^USER .*$/m, "USER root"); }, /no numeric non-root USER/],
  ["Dockerfile runtime stage without libcaf-io0.17", "dev", (s) => { s.dockerfile = s.dockerfile.replace(/libcaf-io0\.17/g, ""); }, /does not install libcaf-io0.17/],
  ["Dockerfile build stage without libcaf-dev", "dev", (s) => { s.dockerfile = s.dockerfile.replace(/libcaf-dev/g, ""); }, /build stage does not install libcaf-dev/],
  ["Dockerfile runtime stage without libcaf-openssl0.17", "dev", (s) => { s.dockerfile = s.dockerfile.replace(/libcaf-openssl0\.17/g, ""); }, /does not install libcaf-openssl0.17/],

  ["production without the NetworkPolicy", "production", (s) => dropKind(s, "NetworkPolicy"), /no NetworkPolicy selects the chat pods/],
  ["cluster port open to every namespace", "production", (s) => { policyRule(s, 9100).from.push({ namespaceSelector: {} }); }, /port 9100 \(cluster\) is admitted from more than the chat pods/],
  ["admin port open to any pod", "production", (s) => { policyRule(s, 9180).from = [{ podSelector: {} }]; }, /port 9180 \(admin\) is admitted from more than the namespace monitoring/],
  ["a rule without ports (every port) from monitoring", "production", (s) => { delete policyRule(s, 9180).ports; }, /port 9100 \(cluster\) is admitted from more than the chat pods/],
  ["cluster port admitted from nowhere", "production", (s) => { const sp = named(s, "NetworkPolicy", "chat").spec; sp.ingress = sp.ingress.filter((r) => !(r.ports || []).some((p) => p.port === 9100)); }, /port 9100 \(cluster\) is admitted from nowhere/],
  ["public port not open", "production", (s) => { policyRule(s, 8080).from = [{ podSelector: { matchLabels: { app: "ingress" } } }]; }, /port 8080 \(http\) is not admitted from anywhere/],
  ["production image chatd:dev", "production", (s) => { ctrOf(s).image = "chatd:dev"; }, /names no registry|is not pinned/],
  ["production image on a moving tag", "production", (s) => { ctrOf(s).image = "registry.example.com/chatd:main"; }, /is not pinned/],
  ["auth Secret optional", "production", (s) => { envOf(s, "CHAT_AUTH_SECRET").valueFrom.secretKeyRef.optional = true; }, /secretKeyRef .* is optional/],
  ["auth Secret not generated (fixed name)", "production", (s) => { const n = envOf(s, "CHAT_AUTH_SECRET").valueFrom.secretKeyRef.name; ofKind(s, "Secret")[0].metadata.name = "chat-auth"; envOf(s, "CHAT_AUTH_SECRET").valueFrom.secretKeyRef.name = "chat-auth"; stsOf(s).spec.template.metadata.annotations["checksum/chat-auth"] = "chat-auth"; return n; }, /no content hash in its name/],
  ["checksum annotation removed", "production", (s) => { delete stsOf(s).spec.template.metadata.annotations; }, /no checksum\/ annotation/],
  ["auth Secret missing from the output", "production", (s) => dropKind(s, "Secret"), /no Secret chat-auth-/],
  ["no zone spread", "production", (s) => { delete stsOf(s).spec.template.spec.topologySpreadConstraints; }, /topology.kubernetes.io\/zone/],
  ["no preStop", "production", (s) => { delete ctrOf(s).lifecycle; }, /no preStop sleep/],
  ["preStop too long for the grace period", "production", (s) => { ctrOf(s).lifecycle.preStop.exec.command = ["/bin/sleep", "9"]; }, /shorter than the drain: preStop 9 s/],
  ["admin port missing in production", "production", (s) => { const p = ctrOf(s).ports; p.splice(p.findIndex((x) => x.name === "admin"), 1); }, /no container port admin 9180/],
  ["no ServiceMonitor", "production", (s) => dropKind(s, "ServiceMonitor"), /no ServiceMonitor/],
  ["ServiceMonitor on a port its Service lacks", "production", (s) => { ofKind(s, "ServiceMonitor")[0].spec.endpoints[0].port = "http"; }, /endpoint port "http" names no port/],
  ["ServiceMonitor with a misspelt field (CRD schema)", "production", (s) => { const ep = ofKind(s, "ServiceMonitor")[0].spec.endpoints[0]; ep.intervall = ep.interval; delete ep.interval; }, /unknown field "intervall"/],
  ["metrics Service that drops pods that are not ready", "production", (s) => { named(s, "Service", "chat-metrics").spec.publishNotReadyAddresses = false; }, /must be headless with publishNotReadyAddresses/],
  ["production memory limit missing", "production", (s) => { delete ctrOf(s).resources.limits.memory; }, /resources.limits.memory is missing/],
  ["more connections than the memory limit covers", "production", (s) => { envOf(s, "CHAT_MAX_CONNECTIONS").value = "40000"; }, /memory limit .* is below the budget/],
  ["node queue bound left at its default", "production", (s) => dropEnv(s, "CHAT_MAX_NODE_QUEUE_BYTES"), /memory limit .* is below the budget|CHAT_MAX_NODE_QUEUE_BYTES is not set/],
  ["memory request below the limit", "production", (s) => { ctrOf(s).resources.requests.memory = "256Mi"; }, /is not the limit/],
  ["per-connection queue left at 4 MiB", "production", (s) => dropEnv(s, "CHAT_MAX_QUEUE_BYTES"), /CHAT_MAX_QUEUE_BYTES is not set/],
  ["per-connection queue below the largest history frame", "production", (s) => { envOf(s, "CHAT_MAX_QUEUE_BYTES").value = "65536"; }, /below the largest history frame/],
  ["public URL not https", "production", (s) => { envOf(s, "CHAT_PUBLIC_URL").value = "http://chat.example.com"; }, /is not https/],
  ["allowed origins without the public URL", "production", (s) => dropEnv(s, "CHAT_ALLOWED_ORIGINS"), /CHAT_ALLOWED_ORIGINS does not list https:\/\/chat.example.com/],
  ["Ingress host other than the public URL", "production", (s) => { ofKind(s, "Ingress")[0].spec.rules[0].host = "other.example.com"; }, /no Ingress rule for host chat.example.com/],
  ["Ingress without the WebSocket timeouts", "production", (s) => { delete ofKind(s, "Ingress")[0].metadata.annotations; }, /proxy-read-timeout is undefined/],
  ["Ingress to a Service that does not exist", "production", (s) => { ofKind(s, "Ingress")[0].spec.rules[0].http.paths[0].backend.service.name = "chat-web"; }, /backend Service "chat-web" is not in these manifests/],

  ["manifest missing from base/kustomization.yaml", "source", (t) => editKustomization(t, "base", (k) => { k.resources = k.resources.filter((r) => r !== "pdb.yaml"); }), /pdb.yaml is not referenced/],
  ["networkpolicy.yaml not listed in the production overlay", "source", (t) => editKustomization(t, "overlays/production", (k) => { k.resources = k.resources.filter((r) => r !== "networkpolicy.yaml"); }), /networkpolicy.yaml is not referenced/],
  ["a directory under resources (kustomize v2.1+ only)", "source", (t) => editKustomization(t, "overlays/dev", (k) => { k.resources = k.bases; delete k.bases; }), /is a directory: kustomize v2.0.3 takes directories only under bases/],
  ["`patches` (kustomize v3+ only)", "source", (t) => editKustomization(t, "overlays/production", (k) => { k.patches = [{ path: "statefulset-patch.yaml" }]; }), /patches: not read by kustomize v2.0.3/],
  ["a resource outside the overlay's directory", "source", (t) => editKustomization(t, "overlays/production", (k) => { k.resources.push("../../base/pdb.yaml"); }), /outside the kustomization's directory/],
  ["the auth secret's file not git-ignored", "source", (t) => { t.files["overlays/production/.gitignore"] = "# nothing\n"; }, /is not in overlays\/production\/.gitignore/],
  ["k8s/ applying the production overlay", "source", (t) => editKustomization(t, ".", (k) => { k.bases = ["overlays/production"]; }), /must have bases: \[overlays\/dev\]/],

  ["dashboard: not JSON", "dashboard", (d) => { d.text = d.text.replace(/}\s*$/, ",}"); }, /not JSON/],
  ["dashboard: a metric /metrics does not export", "dashboard", (d) => { d.text = d.text.replace(/chat_connections\{/, "chat_connection_count{"); }, /chat_connection_count is not exported by \/metrics/],
  ["dashboard: a counter's value instead of its rate", "dashboard", (d) => editDashboard(d, (j) => { dashPanel(j, "Deliveries / s").targets[0].expr = "sum by (pod) (chat_deliveries_total)"; }), /chat_deliveries_total is a counter/],
  ["dashboard: a histogram's buckets without rate()", "dashboard", (d) => editDashboard(d, (j) => { const t = dashPanel(j, "Publish to ack").targets[0]; t.expr = t.expr.replace(/rate\((chat_publish_ack_seconds_bucket\{[^}]*\})\[\$__rate_interval\]\)/, "$1"); }), /chat_publish_ack_seconds_bucket is a counter/],
  ["dashboard: the latency panel removed", "dashboard", (d) => editDashboard(d, (j) => { j.panels = j.panels.filter((p) => p.title !== "Delivery lag"); }), /no panel shows delivery lag/],
  ["dashboard: rate() of a gauge", "dashboard", (d) => editDashboard(d, (j) => { dashPanel(j, "Queued bytes").targets[0].expr = "rate(chat_queued_bytes[5m])"; }), /chat_queued_bytes is a gauge/],
  ["dashboard: a hard-coded datasource", "dashboard", (d) => editDashboard(d, (j) => { dashPanel(j, "Connections").datasource = { type: "prometheus", uid: "P1809F7CD0C75ACF3" }; }), /panel "Connections": datasource .* is not \$datasource/],
  ["dashboard: no datasource variable", "dashboard", (d) => editDashboard(d, (j) => { j.templating.list = j.templating.list.filter((x) => x.type !== "datasource"); }), /no templating variable of type datasource/],
  ["dashboard: the drops panel removed", "dashboard", (d) => editDashboard(d, (j) => { j.panels = j.panels.filter((p) => p.title !== "Drops / s"); }), /no panel shows drops/],
  ["dashboard: overlapping panels", "dashboard", (d) => editDashboard(d, (j) => { dashPanel(j, "Deliveries / s").gridPos = { ...dashPanel(j, "Connections").gridPos }; }), /overlap/],
];

function negativeChecks(ctx) {
  const results = [];
  for (const [what, target, mutate, expect] of MUTATIONS) {
    const name = `rejects a broken copy: ${what}`;
    let run;
    let copy;
    if (target === "dev" || target === "production") {
      copy = cloneSet(ctx[target]);
      run = () => runChecks(copy);
    } else if (target === "source") {
      copy = clone(ctx.tree);
      run = () => sourceChecks(copy);
    } else {
      copy = { ...ctx.dashboard };
      run = () => dashboardChecks(copy);
    }
    try {
      mutate(copy);
    } catch (e) {
      results.push({ name, errors: [`the mutation itself failed (${e.message}): update the negative check`] });
      continue;
    }
    const errs = run().flatMap((c) => (c.errors || []).map((x) => `${c.name}: ${x}`));
    if (errs.length === 0) results.push({ name, errors: ["accepted"] });
    else if (!errs.some((x) => expect.test(x))) results.push({ name, errors: [`rejected, but not for that reason: ${errs.slice(0, 3).join("; ")}`] });
    else results.push({ name, errors: [] });
  }
  return results;
}

// The command line on a broken copy of the tree must exit non-zero (and
// render it with kubectl, so this also covers rendering a broken base).
function cliNegative(k8sDir, dockerfile, kubectl) {
  const name = "the validator exits non-zero on a broken copy of k8s/ (in a temp dir, rendered)";
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-broken-"));
  try {
    fs.cpSync(k8sDir, tmp, { recursive: true, filter: (src) => path.basename(src) !== "auth-secret" });
    const p = path.join(tmp, "base/statefulset.yaml");
    const before = fs.readFileSync(p, "utf8");
    const after = before.replace("containerPort: 9100", 'containerPort: "nine-thousand-one-hundred"');
    if (after === before) return { name, errors: ["could not break the copy: update the negative check"] };
    fs.writeFileSync(p, after);
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), tmp, "--dockerfile", dockerfile, "--kubectl", kubectl.bin, "--no-negative"], { encoding: "utf8" });
    const errors = [];
    if (r.status !== 1) errors.push(`exit status ${r.status}, want 1`);
    if (!/^\d+ passed, [1-9]\d* failed/m.test(r.stdout)) errors.push("its summary line does not report a failure");
    if (!/^not ok - (dev|production) StatefulSet\/chat: schema.*\n\s+.*containerPort must be integer/m.test(r.stdout)) errors.push("the rendered overlays were not rejected for the broken containerPort");
    return { name, errors };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- main

function main() {
  const args = process.argv.slice(2);
  let k8sDir = path.join(repo, "k8s");
  let dockerfile = path.join(repo, "Dockerfile");
  let kubectlArg = null;
  let negative = true;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--dockerfile") dockerfile = path.resolve(args[++i]);
    else if (args[i] === "--kubectl") kubectlArg = args[++i];
    else if (args[i] === "--no-negative") negative = false;
    else k8sDir = path.resolve(args[i]);
  }
  const results = [];
  const tree = readTree(k8sDir);
  results.push(...sourceChecks(tree));

  // Render with kubectl; each target is one check, then its objects are checked.
  const kubectl = findKubectl(kubectlArg);
  const sets = {};
  if (kubectl.error) {
    results.push({ name: "render the overlays with kubectl kustomize", errors: [kubectl.error] });
  } else {
    const rendered = renderTree(k8sDir, kubectl);
    for (const [name, dir] of TARGETS) {
      const r = rendered[name];
      results.push({ name: `render k8s/${dir === "." ? "" : dir} (${kubectl.label})`, errors: r.error ? [r.error] : [] });
      if (r.error || name === "k8s/") continue;
      sets[name] = parseSet({ name, files: [{ file: name, text: r.text }], buildDeps: installDeps() });
      // kustomize v4 and later wrap a Secret's base64 at 70 columns; the API
      // server's decoder skips the line breaks, the schema's "byte" does not.
      for (const s of ofKind(sets[name], "Secret")) for (const k of Object.keys(s.data || {})) if (typeof s.data[k] === "string") s.data[k] = s.data[k].replace(/[\r\n]/g, "");
    }
    if (rendered.dev.text !== undefined && rendered["k8s/"].text !== undefined) {
      const same = JSON.stringify(canonical(parseYaml(rendered.dev.text).docs)) === JSON.stringify(canonical(parseYaml(rendered["k8s/"].text).docs));
      results.push({ name: "`kubectl apply -k k8s/` applies exactly the dev overlay", errors: same ? [] : ["k8s/ renders other objects than k8s/overlays/dev"] });
    }
  }
  if (sets.dev) sets.dev.dockerfile = fs.existsSync(dockerfile) ? fs.readFileSync(dockerfile, "utf8") : null;
  for (const name of ["dev", "production"]) if (sets[name]) results.push(...runChecks(sets[name], { host: negative && name === "dev" }));

  const dashFile = path.join(k8sDir, "monitoring/dashboard.json");
  const dashboard = {
    file: "k8s/monitoring/dashboard.json",
    text: fs.existsSync(dashFile) ? fs.readFileSync(dashFile, "utf8") : "",
    sources: METRIC_SOURCES.map((f) => path.join(repo, f)).filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f, "utf8")).join("\n"),
  };
  results.push(...dashboardChecks(dashboard));

  if (negative) {
    // The negative checks mutate copies of sets that must themselves pass.
    const pass = (cs) => cs.every((c) => !c.errors || c.errors.length === 0);
    if (sets.dev && sets.production && pass(results)) {
      results.push(...negativeChecks({ dev: sets.dev, production: sets.production, tree, dashboard }), cliNegative(k8sDir, dockerfile, kubectl));
    } else results.push({ name: "negative checks", skip: "the manifests themselves do not pass" });
  }
  let pass = 0;
  let fail = 0;
  let skip = 0;
  for (const r of results) {
    if (r.skip) {
      skip++;
      console.log(`skip - ${r.name} (${r.skip})`);
    } else if (r.errors.length === 0) {
      pass++;
      console.log(`ok - ${r.name}`);
    } else {
      fail++;
      console.log(`not ok - ${r.name}`);
      for (const e of r.errors) console.log(`    ${e}`);
    }
  }
  console.log(`${pass} passed, ${fail} failed${skip ? `, ${skip} skipped` : ""}`);
  process.exitCode = fail > 0 ? 1 : 0;
}

main();
