#!/usr/bin/env node
// Offline validation of the Kubernetes manifests in k8s/ and of the Dockerfile.
//
//   node validate.mjs [K8S_DIR] [--dockerfile PATH] [--no-negative]
//
// 1. Schema: every document is checked against the Kubernetes OpenAPI schema
//    compiled into the npm package kubernetes-models (4.5.1: the Kubernetes
//    1.33 API), strictly: a field the schema does not know (a typo such as
//    `readinessProbes`) is an error, as with `kubectl apply --validate=strict`.
//    YAML is read as YAML 1.1 with unique keys, as kubectl reads it.
// 2. Kubernetes rules the API server enforces beyond the schema (names,
//    selector vs. template labels, port names) and usual mistakes (a named
//    targetPort or probe port that no container has, `$(VAR)` before VAR,
//    requests above limits).
// 3. What this design needs: the headless discovery Service, the env vars the
//    node reads, probes on /healthz and /readyz, the drain time, the data
//    volume, the Dockerfile's packages against scripts/install-deps.sh, ...
// 4. Negative checks: deliberately broken copies must be rejected, so that
//    this test can fail; the CLI itself must exit non-zero on a broken copy.
//
// Prints "ok - ..." / "not ok - ..." lines and ends with "N passed, M failed"
// (", K skipped" when a check cannot run here); exits 1 when one failed.
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

// ---------------------------------------------------------------- loading

function loadSet(k8sDir, dockerfilePath) {
  const files = fs
    .readdirSync(k8sDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((file) => ({ file, text: fs.readFileSync(path.join(k8sDir, file), "utf8") }));
  const dockerfile = dockerfilePath && fs.existsSync(dockerfilePath) ? fs.readFileSync(dockerfilePath, "utf8") : null;
  return parseSet({ files, dockerfile, buildDeps: installDeps() });
}

// The packages `scripts/install-deps.sh build` installs (its `pkgs=(...)`).
function installDeps() {
  const f = path.join(repo, "scripts/install-deps.sh");
  if (!fs.existsSync(f)) return [];
  const m = /^pkgs=\(([^)]*)\)/m.exec(fs.readFileSync(f, "utf8"));
  return m ? m[1].split(/\s+/).filter(Boolean) : [];
}

function parseSet(set) {
  for (const f of set.files) {
    f.parseErrors = [];
    f.docs = [];
    // YAML 1.1 like kubectl (sigs.k8s.io/yaml): `value: yes` is a boolean there.
    for (const doc of parseAllDocuments(f.text, { version: "1.1", uniqueKeys: true, prettyErrors: true })) {
      for (const e of doc.errors) f.parseErrors.push(e.message.split("\n")[0]);
      const obj = doc.toJS({ maxAliasCount: 100 });
      if (obj !== null && obj !== undefined) f.docs.push(obj);
    }
  }
  return set;
}

const clone = (x) => structuredClone(x);
function cloneSet(set) {
  return {
    dockerfile: set.dockerfile,
    buildDeps: set.buildDeps,
    files: set.files.map((f) => ({ file: f.file, text: f.text, parseErrors: [...f.parseErrors], docs: clone(f.docs) })),
  };
}

// ---------------------------------------------------------------- schema (strict)

function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  const parts = apiVersion.split("/");
  if (parts.length > 2) return null;
  const mod = parts.length === 2 ? `kubernetes-models/${parts[0]}/${parts[1]}` : `kubernetes-models/${parts[0]}`;
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
  if (!Model) return [`no schema for apiVersion ${obj.apiVersion}, kind ${obj.kind} in ${SCHEMA_SOURCE}`];
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

  if (obj.kind === "PodDisruptionBudget") {
    if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) errs.push("minAvailable and maxUnavailable are exclusive");
    if (!podTemplates(set).some(({ tpl }) => selects(spec.selector, (tpl.metadata || {}).labels))) errs.push("spec.selector selects no pods of these manifests");
  }
  return errs;
}

// ---------------------------------------------------------------- the design's own rules

// CHAT_* names the node reads, from docs/config.md (the node's own table).
function knownChatEnv() {
  const names = new Set();
  const cfg = path.join(repo, "docs/config.md");
  if (fs.existsSync(cfg)) for (const m of fs.readFileSync(cfg, "utf8").matchAll(/`(CHAT_[A-Z0-9_]+)`/g)) names.add(m[1]);
  return names;
}

function designChecks(set) {
  const checks = [];
  const add = (name, fn) => {
    let errors;
    try {
      errors = fn();
    } catch (e) {
      errors = [`cannot check: ${e.message}`];
    }
    checks.push({ name: `design: ${name}`, errors: errors || [] });
  };

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
  const headlessAll = () => ofKind(set, "Service").filter((s) => (s.spec || {}).clusterIP === "None");
  const headless = () => {
    const h = headlessAll();
    if (h.length !== 1) throw new Error(`expected exactly one headless Service (clusterIP: None), found ${h.length}`);
    return h[0];
  };
  const portNamed = (n) => (container().ports || []).find((p) => p.name === n);
  const fieldRef = (e) => e && e.valueFrom && e.valueFrom.fieldRef && e.valueFrom.fieldRef.fieldPath;

  add("headless Service: clusterIP None, publishNotReadyAddresses true, selects the pods, port 9100", () => {
    const h = headless();
    const e = [];
    if (h.spec.publishNotReadyAddresses !== true) e.push(`${id(h)}: publishNotReadyAddresses must be true (peers must find each other before they are ready)`);
    if (!serviceSelects(h.spec.selector, podLabels())) e.push(`${id(h)}: selector does not select the chat pods`);
    const cp = (h.spec.ports || []).find((p) => p.port === 9100);
    if (!cp) e.push(`${id(h)}: no port 9100 (cluster)`);
    else if (!(cp.targetPort === "cluster" || cp.targetPort === 9100 || cp.targetPort === undefined)) e.push(`${id(h)}: port 9100 targets ${cp.targetPort}`);
    return e;
  });
  add("StatefulSet: serviceName is the headless Service, 3 replicas", () => {
    const e = [];
    const h = headless();
    if (need().spec.serviceName !== h.metadata.name) e.push(`serviceName "${sts.spec.serviceName}" is not the headless Service "${h.metadata.name}"`);
    if (sts.spec.replicas !== 3) e.push(`replicas is ${JSON.stringify(sts.spec.replicas)}, want 3`);
    return e;
  });
  add("container ports: http 8080, cluster 9100", () => {
    const e = [];
    if (!portNamed("http") || portNamed("http").containerPort !== 8080) e.push("no container port http 8080");
    if (!portNamed("cluster") || portNamed("cluster").containerPort !== 9100) e.push("no container port cluster 9100");
    return e;
  });
  add("env: CHAT_NODE_NAME from metadata.name, CHAT_ADVERTISE_ADDR from status.podIP (downward API)", () => {
    const m = env();
    const e = [];
    if (fieldRef(m.get("CHAT_NODE_NAME")) !== "metadata.name") e.push("CHAT_NODE_NAME must come from fieldRef metadata.name");
    if (fieldRef(m.get("CHAT_ADVERTISE_ADDR")) !== "status.podIP") e.push("CHAT_ADVERTISE_ADDR must come from fieldRef status.podIP");
    return e;
  });
  add("env: CHAT_DISCOVERY_DNS = <headless>.$(POD_NAMESPACE).svc.cluster.local, POD_NAMESPACE from metadata.namespace before it", () => {
    const m = env();
    const e = [];
    const want = `${headless().metadata.name}.$(POD_NAMESPACE).svc.cluster.local`;
    const d = m.get("CHAT_DISCOVERY_DNS");
    if (!d || d.value !== want) e.push(`CHAT_DISCOVERY_DNS is ${JSON.stringify(d && d.value)}, want ${JSON.stringify(want)}`);
    const ns = m.get("POD_NAMESPACE");
    if (fieldRef(ns) !== "metadata.namespace") e.push("POD_NAMESPACE must come from fieldRef metadata.namespace");
    if (ns && d && ns.index > d.index) e.push("POD_NAMESPACE must be defined before CHAT_DISCOVERY_DNS, or $(POD_NAMESPACE) stays literal");
    return e;
  });
  add("env: listen on 0.0.0.0, ports agree with the container ports, every CHAT_ name is one the node reads", () => {
    const m = env();
    const e = [];
    for (const n of ["CHAT_HTTP_ADDR", "CHAT_CLUSTER_ADDR"]) if (!m.get(n) || m.get(n).value !== "0.0.0.0") e.push(`${n} must be 0.0.0.0`);
    const hp = m.get("CHAT_HTTP_PORT");
    if (hp && Number(hp.value) !== (portNamed("http") || {}).containerPort) e.push(`CHAT_HTTP_PORT ${hp.value} is not the http container port`);
    const cp = m.get("CHAT_CLUSTER_PORT");
    if (cp && Number(cp.value) !== (portNamed("cluster") || {}).containerPort) e.push(`CHAT_CLUSTER_PORT ${cp.value} is not the cluster container port`);
    const known = knownChatEnv();
    if (known.size > 0) for (const n of m.keys()) if (n.startsWith("CHAT_") && !known.has(n)) e.push(`${n} is not a variable of docs/config.md`);
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
  add("pod anti-affinity over kubernetes.io/hostname against the chat pods", () => {
    const aa = ((tpl().spec || {}).affinity || {}).podAntiAffinity || {};
    const terms = [
      ...(aa.requiredDuringSchedulingIgnoredDuringExecution || []),
      ...(aa.preferredDuringSchedulingIgnoredDuringExecution || []).map((w) => w.podAffinityTerm || {}),
    ];
    return terms.some((t) => t.topologyKey === "kubernetes.io/hostname" && selects(t.labelSelector, podLabels())) ? [] : ["no podAntiAffinity term with topologyKey kubernetes.io/hostname selecting the chat pods"];
  });
  add("terminationGracePeriodSeconds fits the drain (>= CHAT_DRAIN_GRACE_MS + 5 s, <= 60 s)", () => {
    const g = (tpl().spec || {}).terminationGracePeriodSeconds;
    const d = env().get("CHAT_DRAIN_GRACE_MS");
    const drainMs = d ? Number(d.value) : 2000;
    if (typeof g !== "number") return ["terminationGracePeriodSeconds is not set"];
    const e = [];
    if (g * 1000 < drainMs + 5000) e.push(`terminationGracePeriodSeconds ${g} is shorter than the drain (${drainMs} ms) + 5 s`);
    if (g > 60) e.push(`terminationGracePeriodSeconds ${g} is far longer than the drain needs`);
    return e;
  });
  add("client Service: a ClusterIP Service (not headless) on the http port of the chat pods", () => {
    const cs = ofKind(set, "Service").filter((s) => (s.spec || {}).clusterIP !== "None");
    const ok = cs.filter((s) => serviceSelects(s.spec.selector, podLabels()) && (s.spec.ports || []).some((p) => p.targetPort === "http" || p.targetPort === 8080 || (p.targetPort === undefined && p.port === 8080)));
    return ok.length > 0 ? [] : ["no non-headless Service selects the chat pods on port http"];
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
  add("kustomization.yaml lists every manifest", () => {
    const k = set.files.find((f) => f.file === "kustomization.yaml");
    if (!k) return [];
    const obj = k.docs[0] || {};
    const e = [];
    if (obj.apiVersion !== "kustomize.config.k8s.io/v1beta1" || obj.kind !== "Kustomization") e.push("kustomization.yaml is not a kustomize.config.k8s.io/v1beta1 Kustomization");
    const listed = new Set(obj.resources || []);
    for (const f of set.files) if (f.file !== "kustomization.yaml" && !listed.has(f.file)) e.push(`${f.file} is not in resources`);
    for (const r of listed) if (!set.files.some((f) => f.file === r)) e.push(`resources names ${r}, which does not exist`);
    return e;
  });
  add("Dockerfile: debian:12 build stage, debian:12-slim runtime with the CAF libraries, non-root USER = runAsUser, EXPOSE 8080 9100", () => {
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
    for (const p of [8080, 9100]) if (!exposed.includes(p)) e.push(`EXPOSE ${p} is missing`);
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

// ---------------------------------------------------------------- all checks on one set

function runChecks(set, { host = false } = {}) {
  const checks = [];
  for (const f of set.files) {
    checks.push({ name: `${f.file}: YAML parses (YAML 1.1, unique keys)`, errors: f.parseErrors });
    for (const obj of f.docs) {
      if (obj && obj.kind === "Kustomization") continue; // checked by the design rules
      const okShape = obj && typeof obj === "object" && !Array.isArray(obj);
      checks.push({ name: `${f.file} ${id(obj)}: schema (${SCHEMA_SOURCE}, strict)`, errors: okShape ? schemaErrors(obj) : ["not a mapping"] });
      if (okShape) checks.push({ name: `${f.file} ${id(obj)}: Kubernetes rules beyond the schema`, errors: kubeRuleErrors(set, obj) });
    }
  }
  checks.push(...designChecks(set));
  if (host) checks.push(...hostChecks(set));
  return checks;
}

// ---------------------------------------------------------------- negative checks

const stsOf = (s) => ofKind(s, "StatefulSet")[0];
const ctrOf = (s) => stsOf(s).spec.template.spec.containers[0];
const envOf = (s, n) => ctrOf(s).env.find((e) => e.name === n);
const headlessOf = (s) => ofKind(s, "Service").find((x) => x.spec.clusterIP === "None");

// Each mutation breaks one thing; the checks must then report an error that
// matches `expect`.
const MUTATIONS = [
  ["replicas as a string", (s) => { stsOf(s).spec.replicas = "3"; }, /replicas must be integer/],
  ["containerPort not a number", (s) => { ctrOf(s).ports[0].containerPort = "eighty"; }, /containerPort must be integer/],
  ["misspelt field readinessProbes", (s) => { const c = ctrOf(s); c.readinessProbes = c.readinessProbe; delete c.readinessProbe; }, /unknown field "readinessProbes"/],
  ["unknown field in the Service spec", (s) => { headlessOf(s).spec.publishNotReady = true; }, /unknown field "publishNotReady"/],
  ["container without a name", (s) => { delete ctrOf(s).name; }, /must have required property 'name'|required property name/],
  ["apiVersion without a schema", (s) => { stsOf(s).apiVersion = "apps/v1beta9"; }, /no schema for apiVersion apps\/v1beta9/],
  ["env value `yes` read as a boolean (YAML 1.1)", (s) => {
    const f = s.files.find((x) => x.file === "statefulset.yaml");
    f.text = f.text.replace(/value: info\b/, "value: yes");
    Object.assign(f, parseSet({ files: [{ file: f.file, text: f.text }] }).files[0]);
  }, /value must be string/],
  ["duplicate YAML key", (s) => {
    const f = s.files.find((x) => x.file === "pdb.yaml");
    f.text = f.text.replace(/^(\s*)maxUnavailable: 1$/m, "$1maxUnavailable: 1\n$1maxUnavailable: 2");
    Object.assign(f, parseSet({ files: [{ file: f.file, text: f.text }] }).files[0]);
  }, /[Mm]ap keys must be unique/],
  ["selector that misses the template labels", (s) => { stsOf(s).spec.selector.matchLabels = { app: "other" }; }, /does not select spec.template/],
  ["port name longer than 15 characters", (s) => { ctrOf(s).ports[1].name = "cluster-peer-port"; }, /IANA_SVC_NAME/],
  ["probe on a port name the container lacks", (s) => { ctrOf(s).livenessProbe.httpGet.port = "web"; }, /port "web" that the container does not name/],
  ["$(POD_NAMESPACE) used before it is defined", (s) => { const env = ctrOf(s).env; const i = env.findIndex((e) => e.name === "POD_NAMESPACE"); env.push(env.splice(i, 1)[0]); }, /not defined before it/],
  ["headless Service without publishNotReadyAddresses", (s) => { headlessOf(s).spec.publishNotReadyAddresses = false; }, /publishNotReadyAddresses must be true/],
  ["no headless Service (clusterIP removed)", (s) => { delete headlessOf(s).spec.clusterIP; }, /exactly one headless Service/],
  ["serviceName that is not the headless Service", (s) => { stsOf(s).spec.serviceName = "chat"; }, /not the headless Service|not headless/],
  ["liveness on /readyz", (s) => { ctrOf(s).livenessProbe.httpGet.path = "/readyz"; }, /livenessProbe must be httpGet \/healthz/],
  ["readiness on /healthz", (s) => { ctrOf(s).readinessProbe.httpGet.path = "/healthz"; }, /readinessProbe must be httpGet \/readyz/],
  ["CHAT_ADVERTISE_ADDR missing", (s) => { const env = ctrOf(s).env; env.splice(env.findIndex((e) => e.name === "CHAT_ADVERTISE_ADDR"), 1); }, /CHAT_ADVERTISE_ADDR must come from fieldRef status.podIP/],
  ["CHAT_NODE_NAME from the wrong field", (s) => { envOf(s, "CHAT_NODE_NAME").valueFrom.fieldRef.fieldPath = "spec.nodeName"; }, /CHAT_NODE_NAME must come from fieldRef metadata.name/],
  ["discovery name of another Service", (s) => { envOf(s, "CHAT_DISCOVERY_DNS").value = "chat.$(POD_NAMESPACE).svc.cluster.local"; }, /CHAT_DISCOVERY_DNS is/],
  ["a CHAT_ variable the node does not read", (s) => { ctrOf(s).env.push({ name: "CHAT_ADVERTISE_ADDRESS", value: "x" }); }, /CHAT_ADVERTISE_ADDRESS is not a variable of docs\/config.md/],
  ["memory limit missing", (s) => { delete ctrOf(s).resources.limits.memory; }, /resources.limits.memory is missing/],
  ["request above its limit", (s) => { ctrOf(s).resources.requests.memory = "1Gi"; }, /memory request 1Gi is above its limit/],
  ["no pod anti-affinity", (s) => { delete stsOf(s).spec.template.spec.affinity; }, /no podAntiAffinity term/],
  ["terminationGracePeriodSeconds shorter than the drain", (s) => { stsOf(s).spec.template.spec.terminationGracePeriodSeconds = 2; }, /shorter than the drain/],
  ["service links on", (s) => { stsOf(s).spec.template.spec.enableServiceLinks = true; }, /enableServiceLinks must be false/],
  ["client Service targetPort no container has", (s) => { ofKind(s, "Service").find((x) => x.spec.clusterIP !== "None").spec.ports[0].targetPort = "web"; }, /targetPort "web" is not a container port name/],
  ["PodDisruptionBudget that selects nothing", (s) => { ofKind(s, "PodDisruptionBudget")[0].spec.selector.matchLabels = { app: "nothing" }; }, /selects no pods/],
  ["manifest missing from kustomization.yaml", (s) => { const k = s.files.find((f) => f.file === "kustomization.yaml"); k.docs[0].resources = k.docs[0].resources.filter((r) => r !== "pdb.yaml"); }, /pdb.yaml is not in resources/],
  ["cluster TLS variables removed (plaintext cluster port)", (s) => { const env = ctrOf(s).env; env.splice(env.findIndex((e) => e.name === "CHAT_CLUSTER_TLS_KEY"), 1); }, /CHAT_CLUSTER_TLS_KEY must be set/],
  ["cluster TLS key outside the Secret mount", (s) => { envOf(s, "CHAT_CLUSTER_TLS_KEY").value = "/tmp/tls.key"; }, /CHAT_CLUSTER_TLS_KEY=\/tmp\/tls.key is not a Secret volume|volume tmp is not a Secret volume/],
  ["data dir on the /tmp emptyDir", (s) => { envOf(s, "CHAT_DATA_DIR").value = "/tmp/history"; }, /CHAT_DATA_DIR=\/tmp\/history is not on a volumeClaimTemplate's mount \(volume tmp/],
  ["data dir on the read-only root", (s) => { envOf(s, "CHAT_DATA_DIR").value = "/data"; }, /CHAT_DATA_DIR=\/data is not on a volumeClaimTemplate's mount \(no volume/],
  ["CHAT_DATA_DIR removed (memory only)", (s) => { const env = ctrOf(s).env; env.splice(env.findIndex((e) => e.name === "CHAT_DATA_DIR"), 1); }, /CHAT_DATA_DIR must be set/],
  ["volumeClaimTemplates removed", (s) => { delete stsOf(s).spec.volumeClaimTemplates; }, /volumeMount data has no volume/],
  ["data mount read-only", (s) => { ctrOf(s).volumeMounts.find((m) => m.name === "data").readOnly = true; }, /volumeMount data must not be readOnly/],
  ["no fsGroup (the non-root node cannot write the volume)", (s) => { delete stsOf(s).spec.template.spec.securityContext.fsGroup; }, /needs fsGroup/],
  ["data claim shared (ReadWriteMany)", (s) => { stsOf(s).spec.volumeClaimTemplates[0].spec.accessModes = ["ReadWriteMany"]; }, /lacks ReadWriteOnce/],
  ["data claim without a storage request", (s) => { delete stsOf(s).spec.volumeClaimTemplates[0].spec.resources; }, /resources.requests.storage is missing/],
  ["claims deleted on scale-down", (s) => { stsOf(s).spec.persistentVolumeClaimRetentionPolicy.whenScaled = "Delete"; }, /whenScaled is Delete/],
  ["claim template named like a pod volume", (s) => { stsOf(s).spec.volumeClaimTemplates[0].metadata.name = "tmp"; }, /has the name of a pod volume too/],
  ["Dockerfile runtime stage running as root", (s) => { s.dockerfile = s.dockerfile.replace(/^USER .*$/m, "USER root"); }, /no numeric non-root USER/],
  ["Dockerfile runtime stage without libcaf-io0.17", (s) => { s.dockerfile = s.dockerfile.replace(/libcaf-io0\.17/g, ""); }, /does not install libcaf-io0.17/],
  ["Dockerfile build stage without libcaf-dev", (s) => { s.dockerfile = s.dockerfile.replace(/libcaf-dev/g, ""); }, /build stage does not install libcaf-dev/],
  ["Dockerfile runtime stage without libcaf-openssl0.17", (s) => { s.dockerfile = s.dockerfile.replace(/libcaf-openssl0\.17/g, ""); }, /does not install libcaf-openssl0.17/],
];

function negativeChecks(set) {
  const results = [];
  for (const [what, mutate, expect] of MUTATIONS) {
    const name = `rejects a broken copy: ${what}`;
    const s = cloneSet(set);
    try {
      mutate(s);
    } catch (e) {
      results.push({ name, errors: [`the mutation itself failed (${e.message}): update the negative check`] });
      continue;
    }
    const errs = runChecks(s).flatMap((c) => (c.errors || []).map((x) => `${c.name}: ${x}`));
    if (errs.length === 0) results.push({ name, errors: ["accepted"] });
    else if (!errs.some((x) => expect.test(x))) results.push({ name, errors: [`rejected, but not for that reason: ${errs.slice(0, 3).join("; ")}`] });
    else results.push({ name, errors: [] });
  }
  return results;
}

// The command line on a broken copy of the directory must exit non-zero.
function cliNegative(k8sDir, dockerfile) {
  const name = "the validator exits non-zero on a broken copy of k8s/ (in a temp dir)";
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-broken-"));
  try {
    for (const f of fs.readdirSync(k8sDir)) fs.copyFileSync(path.join(k8sDir, f), path.join(tmp, f));
    const p = path.join(tmp, "statefulset.yaml");
    const before = fs.readFileSync(p, "utf8");
    const after = before.replace("containerPort: 9100", 'containerPort: "nine-thousand-one-hundred"');
    if (after === before) return { name, errors: ["could not break the copy: update the negative check"] };
    fs.writeFileSync(p, after);
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), tmp, "--dockerfile", dockerfile, "--no-negative"], { encoding: "utf8" });
    const errors = [];
    if (r.status !== 1) errors.push(`exit status ${r.status}, want 1`);
    if (!/^\d+ passed, [1-9]\d* failed/m.test(r.stdout)) errors.push("its summary line does not report a failure");
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
  let negative = true;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--dockerfile") dockerfile = path.resolve(args[++i]);
    else if (args[i] === "--no-negative") negative = false;
    else k8sDir = path.resolve(args[i]);
  }
  const set = loadSet(k8sDir, dockerfile);
  const results = runChecks(set, { host: negative });
  if (negative) {
    // The negative checks mutate a copy of a set that must itself be valid.
    const base = runChecks(set).every((c) => !c.errors || c.errors.length === 0);
    if (base) results.push(...negativeChecks(set), cliNegative(k8sDir, dockerfile));
    else results.push({ name: "negative checks", skip: "the manifests themselves do not pass" });
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
