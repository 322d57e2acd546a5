// The local console: plain JavaScript, no build step. Data from the emulator's /api/*; every text
// goes in through textContent (never innerHTML). The state machine graph is laid out by dagre
// (vendor/, global `dagre`) and drawn here as SVG.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const START = "__start__", END = "__end__";
const STATUS_LABEL = { succeeded: "Succeeded", failed: "Failed", caught: "Caught error", running: "In progress",
  notrun: "Not run" };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path) {
  const response = await fetch(path, { cache: "no-store" });
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "…";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds % 60)} s`;
}

function when(iso) {
  return iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace("+00:00", " UTC") : "";
}

function statusClass(status) {
  const s = String(status || "").toLowerCase();
  if (["verified", "routed", "succeeded", "ok"].includes(s)) return "good";
  if (["failed", "timed_out", "aborted"].includes(s)) return "bad";
  if (["rejected", "caught"].includes(s)) return "warn";
  if (["running", "in-progress"].includes(s)) return "busy";
  return "neutral";
}

function badge(text, cls) {
  return el("span", { class: `badge ${cls || statusClass(text)}` }, text);
}

function side(ref) {
  return ref ? el("span", { class: "vpcref" }, el("code", {}, ref.vpcId), el("br"),
    el("span", { class: "muted small" }, `${ref.accountId} · ${ref.region}`)) : "–";
}

function section(title, ...children) {
  return el("section", { class: "card" }, el("h2", {}, title), ...children);
}

function jsonBlock(value) {
  return el("pre", { class: "json" }, value === null || value === undefined ? "—" : JSON.stringify(value, null, 2));
}

// -- the stack line in the header ------------------------------------------------------------------
async function showStack() {
  const holder = document.getElementById("stack");
  try {
    const stack = await api("/api/stack");
    holder.replaceChildren("stack ", el("code", {}, stack.name), " ", badge(stack.status, stack.status.endsWith("COMPLETE") ? "good" : "neutral"),
      " · ", stack.region || "");
    return stack;
  } catch (error) {
    holder.replaceChildren(el("span", { class: "error" }, `stack: ${error.message}`));
    return null;
  }
}

// -- the executions list ---------------------------------------------------------------------------
async function renderList(main, stack) {
  const rows = await api("/api/executions");
  const table = el("table", { class: "list", id: "executions" },
    el("thead", {}, el("tr", {}, ["Peering", "Requester VPC", "Accepter VPC", "Status", "Stage", "Started", "Duration"]
      .map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((row) => el("tr", { "data-arn": row.executionArn, class: "link",
      onclick: () => { location.hash = `#/execution/${encodeURIComponent(row.executionArn)}`; } },
      el("td", { class: "nowrap" }, el("a", { href: `#/execution/${encodeURIComponent(row.executionArn)}` }, row.peeringId)),
      el("td", {}, side(row.requester)), el("td", {}, side(row.accepter)),
      el("td", {}, badge(row.status), row.status !== row.executionStatus.toLowerCase() ? el("span", { class: "muted small" }, ` ${row.executionStatus}`) : null),
      el("td", {}, row.stage), el("td", { class: "nowrap" }, when(row.startDate)), el("td", { class: "num" }, duration(row.durationSeconds))))));
  const children = [section(`Executions (${rows.length}, newest first)`,
    rows.length ? table : el("p", { class: "muted" }, "No execution yet: tag a peering request (peering-automation/auto-accept=true)."))];
  if (stack && stack.outputs) {
    children.push(section("Stack outputs", el("table", { class: "kv" }, el("tbody", {},
      Object.entries(stack.outputs).map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, el("code", {}, v))))))));
  }
  children.push(await activitySection());
  main.replaceChildren(...children);
  return rows.some((row) => row.executionStatus === "RUNNING");
}

async function activitySection() {
  const title = "Intake decisions, sweeps and cleanups";
  let activity;
  try {
    activity = await api("/api/activity");
  } catch (error) {
    return section(title, el("p", { class: "error", id: "activity-error" }, error.message));
  }
  const intro = el("p", { class: "muted small" }, "What the functions started by an event or a schedule did (events refused ",
    "or skipped before any execution, sweeps, cleanups after a peering was deleted), from the log group ",
    el("code", {}, activity.logGroup), `, last ${activity.days} days, newest first.`);
  if (!activity.items.length) return section(title, intro, el("p", { class: "muted", id: "activity" }, "None yet."));
  return section(`${title} (${activity.items.length})`, intro, el("table", { class: "list", id: "activity" },
    el("thead", {}, el("tr", {}, ["Kind", "Status", "Peering(s)", "Time", "Why"].map((h) => el("th", {}, h)))),
    el("tbody", {}, activity.items.map((item) => el("tr", { "data-kind": item.kind },
      el("td", {}, item.kind), el("td", {}, badge(item.status, activityClass(item.status))),
      el("td", {}, item.peeringIds.length ? item.peeringIds.map((id) => el("div", {}, el("code", {}, id))) : "–"),
      el("td", { class: "nowrap" }, when(item.at)), el("td", { class: "note" }, item.reason || ""))))));
}

function activityClass(status) {
  return { started: "good", swept: "good", cleaned: "good", skipped: "neutral", refused: "warn", failed: "bad" }[status] || "neutral";
}

// -- one execution ---------------------------------------------------------------------------------
async function renderExecution(main, arn) {
  const run = await api(`/api/execution?arn=${encodeURIComponent(arn)}`);
  const started = new Date(run.startDate).getTime();
  const detail = el("div", { class: "stage-detail", id: "stage-detail" });
  const nodes = Object.fromEntries(run.graph.nodes.map((n) => [n.id, n]));
  const select = (index) => {
    const entry = run.timeline[index];
    const node = nodes[entry.state] || {};
    document.querySelectorAll(".selected").forEach((n) => n.classList.remove("selected"));
    document.querySelectorAll(`[data-entry="${index}"], [data-state="${CSS.escape(entry.state)}"]`)
      .forEach((n) => n.classList.add("selected"));
    const attempts = entry.attempts.filter((a) => a.error);
    detail.replaceChildren(...[
      el("h3", {}, entry.state, " ", badge(entry.result)),
      node.stage ? el("p", {}, el("span", { class: "label" }, "stage"), node.stage, " · ", el("code", {}, node.function)) : null,
      el("p", { class: "muted" }, `${entry.type} · entered ${when(entry.enteredAt)} · ${duration(entry.durationSeconds)}`,
        entry.retries ? ` · ${entry.retries} retr${entry.retries === 1 ? "y" : "ies"}` : ""),
      entry.note ? el("p", {}, entry.note) : null,
      attempts.length ? el("ul", { class: "errors" }, attempts.map((a) => el("li", {}, el("code", {}, a.error), " ", a.message || ""))) : null,
      entry.stageResult ? el("h4", {}, "Result (the stage's model)") : null,
      entry.stageResult ? jsonBlock(entry.stageResult) : null,
      el("h4", {}, "Input"), jsonBlock(entry.input),
      el("h4", {}, "Output"), jsonBlock(entry.output)].filter(Boolean));
  };
  const lastIndexOf = (state) => run.timeline.map((t) => t.state).lastIndexOf(state);

  const header = section(`Execution ${run.peeringId}`,
    el("div", { class: "summary" },
      el("div", {}, el("span", { class: "label" }, "Status"), badge(run.status), " ",
        el("span", { class: "muted", id: "execution-status" }, run.executionStatus)),
      el("div", {}, el("span", { class: "label" }, "Stage reached"), run.stage),
      el("div", {}, el("span", { class: "label" }, "Requester"), side(run.requester)),
      el("div", {}, el("span", { class: "label" }, "Accepter"), side(run.accepter)),
      el("div", {}, el("span", { class: "label" }, "Started"), when(run.startDate)),
      el("div", {}, el("span", { class: "label" }, "Duration"), duration(run.durationSeconds))),
    el("p", { class: "arn" }, el("code", {}, run.executionArn)),
    run.outcome && (run.outcome.cause || run.outcome.reason)
      ? el("p", { class: run.outcome.cause ? "cause bad" : "cause" }, run.outcome.cause || run.outcome.reason) : null);

  const graphCard = section("Graph view",
    legend(),
    el("div", { class: "graph-and-detail" },
      el("div", { class: "graph", id: "graph" }, drawGraph(run.graph, run.path, (state) => {
        const index = lastIndexOf(state);
        if (index >= 0) select(index);
      })),
      detail));

  const stages = section("Stages, in the order entered", el("table", { class: "list stages", id: "stages" },
    el("thead", {}, el("tr", {}, ["#", "State", "Type", "At", "Duration", "Result", "Detail"].map((h) => el("th", {}, h)))),
    el("tbody", {}, run.timeline.map((entry, index) => el("tr", { "data-entry": index, class: `link depth${entry.depth}`,
      onclick: () => select(index) },
      el("td", { class: "num" }, index + 1),
      el("td", { class: "state" }, entry.depth ? "↳ ".repeat(entry.depth) : "", entry.state),
      el("td", {}, entry.type),
      el("td", { class: "num" }, `+${((new Date(entry.enteredAt).getTime() - started) / 1000).toFixed(2)} s`),
      el("td", { class: "num" }, duration(entry.durationSeconds)),
      el("td", {}, badge(entry.result)),
      el("td", { class: "note" }, failedAttempt(entry) ? failedAttempt(entry).message : entry.note))))));

  main.replaceChildren(header, graphCard, stages, routesSection(run.outcome, run.routes), verificationSection(run.outcome),
    networkSection(run.network));
  const failed = run.timeline.findIndex((t) => t.result === "failed");
  if (run.timeline.length) select(failed >= 0 ? failed : run.timeline.length - 1);
  return run.executionStatus === "RUNNING";
}

function failedAttempt(entry) {
  const last = entry.attempts[entry.attempts.length - 1];
  return last && last.error ? last : null;
}

function legend() {
  return el("div", { class: "legend" }, ["succeeded", "caught", "failed", "running", "notrun"].map((s) =>
    el("span", {}, el("i", { class: `swatch ${s}` }), STATUS_LABEL[s])));
}

function routesSection(outcome, stored) {
  if (!outcome) return section("Routes", el("p", { class: "muted" }, "No outcome yet."));
  // the outcome counts; the run store (outcome.details) lists the routes themselves
  const table = (title, count, routes, cls) => el("div", {}, el("h3", {}, `${title} (${count})`),
    routes.length ? el("table", { class: `list routes ${cls}` },
      el("thead", {}, el("tr", {}, ["Route table", "Destination", "Target"].map((h) => el("th", {}, h)))),
      el("tbody", {}, routes.map((r) => el("tr", {}, el("td", {}, el("code", {}, r.routeTableId)),
        el("td", {}, el("code", {}, r.destination)), el("td", {}, el("code", {}, r.target))))))
      : el("p", { class: "muted" }, count ? "listed in the run store" : "none"),
    routes.length && routes.length < count ? el("p", { class: "muted" }, `the first ${routes.length} of ${count}`) : null);
  const listed = (kind) => (stored && stored[kind]) || [];
  return section("Routes", el("div", { class: "routes-grid", id: "routes" },
    table("Created by this run", outcome.routesCreated, listed("created"), "created"),
    table("Already in place", outcome.routesAlreadyPresent, listed("alreadyPresent"), "present"),
    table(outcome.rollbackRan ? "Removed by the rollback" : "Removed", outcome.routesRemoved, listed("removed"), "removed")),
    outcome.details ? el("p", {}, el("span", { class: "label" }, "Run store"), el("code", { id: "details" }, outcome.details)) : null,
    outcome.dns ? el("p", {}, el("span", { class: "label" }, "DNS"), outcome.dns.enabled ? "set: " : "not set: ", outcome.dns.reason) : null);
}

function verificationSection(outcome) {
  const v = outcome && outcome.verification;
  if (!v) return section("Verification", el("p", { class: "muted" }, "This run did not reach verification."));
  const verdict = !v.performed ? badge("not performed", "neutral") : v.reachable ? badge("reachable", "good") : badge("NOT reachable", "bad");
  const probes = v.probeResults.length ? el("table", { class: "list" },
    el("thead", {}, el("tr", {}, ["Probe target", "Result", "Latency"].map((h) => el("th", {}, h)))),
    el("tbody", {}, v.probeResults.map((p) => el("tr", {}, el("td", {}, el("code", {}, `${p.target.host}:${p.target.port}`)),
      el("td", {}, p.reachable ? badge("reachable", "good") : badge(p.error || "unreachable", "bad")),
      el("td", { class: "num" }, p.latencyMs === null ? "–" : `${p.latencyMs} ms`))))) : null;
  const flows = v.paths.map((path) => el("div", { class: `flow ${path.reachable ? "good" : "bad"}` },
    el("div", { class: "flow-head" }, path.reachable ? badge("reachable", "good") : badge("blocked", "bad"), " ",
      el("strong", {}, path.source), " → ", el("strong", {}, path.destination)),
    el("ol", { class: "hops" }, path.hops.map((hop) => el("li", {}, hop))),
    el("p", { class: "muted" }, path.reason)));
  return section("Verification", el("p", {}, verdict, " ", v.reason),
    v.probeApplicable ? null : el("p", { class: "muted" }, "The probe did not apply: the verdict is the path analysis's."),
    probes, el("h3", {}, `Flows (${v.paths.length}), hop by hop`), el("div", { id: "flows" }, flows));
}

function networkSection(network) {
  if (!network) return section("Network", el("p", { class: "muted" }, "The peering's VPCs are not known for this run."));
  const byRole = Object.fromEntries(network.vpcs.map((v) => [v.role, v]));
  const p = network.peering;
  const vpcBox = (vpc, role) => {
    if (!vpc) return el("div", { class: "vpc missing" }, el("h3", {}, role), el("p", { class: "muted" }, "not readable (see below)"));
    return el("div", { class: "vpc", "data-vpc": vpc.vpcId },
      el("h3", {}, vpc.name || vpc.vpcId, " ", el("span", { class: "muted small" }, role)),
      el("p", {}, el("code", {}, vpc.vpcId), " · ", vpc.cidrs.join(", "), el("br"), el("span", { class: "muted small" }, `${vpc.accountId} · ${vpc.region}`)),
      vpc.subnets.map((s) => el("div", { class: "subnet" }, el("span", { class: "label" }, "subnet"), el("code", {}, s.subnetId), ` ${s.cidr}`,
        vpc.instances.filter((i) => i.subnetId === s.subnetId).map((i) => el("div", { class: "instance" }, "▣ ", el("code", {}, i.instanceId), ` ${i.ips.join(", ")} (${i.state})`)))),
      vpc.routeTables.map((t) => el("div", { class: "rtb" },
        el("div", { class: "rtb-head" }, el("code", {}, t.routeTableId), t.main ? " (main)" : "", t.subnetIds.length ? ` → ${t.subnetIds.join(", ")}` : ""),
        el("table", { class: "routes-table" }, el("tbody", {}, t.routes.map((r) => el("tr", { class: `${r.viaPeering ? "via" : ""} ${r.state === "blackhole" ? "blackhole" : ""}` },
          el("td", {}, el("code", {}, r.destination)), el("td", {}, "→"), el("td", {}, el("code", {}, r.target)),
          el("td", { class: "muted small" }, r.state !== "active" ? r.state : ""))))))));
  };
  return section("The two VPCs and the peering", el("div", { class: "net", id: "network" },
    vpcBox(byRole.requester, "requester"),
    el("div", { class: `link-peering ${p.state === "active" ? "good" : "bad"}` },
      el("div", { class: "wire" }), el("code", {}, p.peeringId), el("div", {}, badge(p.state, p.state === "active" ? "good" : "warn"))),
    vpcBox(byRole.accepter, "accepter")),
    network.unreadable.length ? el("p", { class: "muted" }, `Not readable: ${network.unreadable.join("; ")}`) : null);
}

// -- the graph -------------------------------------------------------------------------------------
function drawGraph(graph, path, onSelect) {
  const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 18, ranksep: 26, edgesep: 8, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  const parallels = new Set(graph.nodes.filter((n) => n.type === "Parallel" || n.type === "Map").map((n) => n.id));
  const size = (n) => {
    if (n.id === START || n.id === END) return { width: 64, height: 26 };
    return { width: Math.max(96, n.id.length * 7.4 + 28), height: 36 };
  };
  for (const n of graph.nodes) {
    if (parallels.has(n.id)) {
      // A Parallel (or a Map) is a dashed box holding its name (entry), its branches (its item processor) and a join (exit).
      g.setNode(`box:${n.id}`, { cluster: true });
      g.setNode(n.id, { ...size(n), node: n });
      g.setNode(`join:${n.id}`, { width: 14, height: 14, join: true, of: n.id });
      g.setParent(n.id, `box:${n.id}`);
      g.setParent(`join:${n.id}`, `box:${n.id}`);
      if (n.parent) g.setParent(`box:${n.id}`, `box:${n.parent}`);
    } else {
      g.setNode(n.id, { ...size(n), node: n });
      if (n.parent) g.setParent(n.id, `box:${n.parent}`);
    }
  }
  const taken = new Set(path.edges.map((e) => `${e.from}>${e.to}`));
  const edges = [];
  for (const e of graph.edges) {
    const from = parallels.has(e.from) ? `join:${e.from}` : e.from;
    edges.push({ from, to: e.to, kind: e.kind, taken: taken.has(`${e.from}>${e.to}`) });
  }
  for (const n of graph.nodes.filter((x) => x.parent)) {
    const ran = path.states[n.id] !== undefined;
    if (n.start) edges.push({ from: n.parent, to: n.id, kind: "branch", taken: ran });
    if (n.end) edges.push({ from: n.id, to: `join:${n.parent}`, kind: "branch", taken: ran && path.states[n.id] !== "running" });
  }
  edges.forEach((e, i) => g.setEdge(e.from, e.to, { minlen: 1, weight: e.kind === "catch" ? 1 : 4, e }, `e${i}`));
  dagre.layout(g);

  const box = g.graph();
  const root = svg("svg", { viewBox: `0 0 ${box.width} ${box.height}`, width: box.width, height: box.height,
    class: "sfn", role: "img", "aria-label": "state machine graph" });
  root.append(svg("defs", {},
    svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" })),
    svg("marker", { id: "arrow-taken", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead taken" }))));
  for (const id of g.nodes().filter((v) => g.node(v).cluster)) {
    const c = g.node(id);
    const name = id.slice(4);
    const status = path.states[name] || "notrun";
    root.append(svg("rect", { x: c.x - c.width / 2, y: c.y - c.height / 2, width: c.width, height: c.height, rx: 8,
      class: `parallel ${status}` }));
  }
  for (const edgeId of g.edges()) {
    const { e, points } = g.edge(edgeId);
    const d = points.map((pt, i) => `${i ? "L" : "M"}${pt.x.toFixed(1)},${pt.y.toFixed(1)}`).join(" ");
    root.append(svg("path", { d, class: `edge ${e.kind} ${e.taken ? "taken" : ""}`, "marker-end": e.taken ? "url(#arrow-taken)" : "url(#arrow)",
      "data-edge": `${e.from}>${e.to}` }));
  }
  for (const id of g.nodes()) {
    const v = g.node(id);
    if (v.cluster) continue;
    if (v.join) {
      const status = path.states[v.of] || "notrun";
      root.append(svg("circle", { cx: v.x, cy: v.y, r: 5, class: `join ${status}` }));
      continue;
    }
    const n = v.node;
    const status = path.states[id] || "notrun";
    const pseudo = id === START || id === END;
    const group = svg("g", { class: `state ${status} ${pseudo ? "pseudo" : ""} type-${n.type}`, "data-state": id,
      transform: `translate(${v.x - v.width / 2},${v.y - v.height / 2})` });
    group.append(svg("title", {}, pseudo ? n.type : `${id} (${n.type}${n.stage ? `, stage ${n.stage}` : ""}): ${STATUS_LABEL[status]}${path.visits[id] > 1 ? `, entered ${path.visits[id]} times` : ""}`));
    group.append(svg("rect", { width: v.width, height: v.height, rx: pseudo ? v.height / 2 : 6 }));
    if (pseudo) {
      group.append(svg("text", { x: v.width / 2, y: v.height / 2 + 4, "text-anchor": "middle", class: "name" }, n.type));
    } else {
      group.append(svg("text", { x: v.width / 2, y: 15, "text-anchor": "middle", class: "name" }, id));
      group.append(svg("text", { x: v.width / 2, y: 29, "text-anchor": "middle", class: "kind" },
        path.visits[id] > 1 ? `${n.type} ×${path.visits[id]}` : n.type));
      group.addEventListener("click", () => onSelect(id));
    }
    root.append(group);
  }
  return root;
}

// -- routing ---------------------------------------------------------------------------------------
const REFRESH_MS = 2000;  // while a run is in progress, its page (or the list) reloads its data
let shownHash = null;
let refresh = null;

async function route() {
  const main = document.getElementById("main");
  const hash = location.hash;
  const navigated = hash !== shownHash;
  clearTimeout(refresh);
  document.body.dataset.ready = "loading";
  const stack = await showStack();
  const match = hash.match(/^#\/execution\/(.+)$/);
  try {
    const running = match ? await renderExecution(main, decodeURIComponent(match[1])) : await renderList(main, stack);
    document.body.dataset.ready = match ? "execution" : "executions";
    if (navigated) window.scrollTo(0, 0);
    if (running) refresh = setTimeout(() => { if (location.hash === hash) route(); }, REFRESH_MS);
  } catch (error) {
    main.replaceChildren(el("p", { class: "error" }, error.message));
    document.body.dataset.ready = "error";
  }
  shownHash = hash;
}

window.addEventListener("hashchange", route);
route();
