/* SPDX-License-Identifier: MIT */
/* The node's dashboard (docs/dashboard.md). Everything comes from this
   node's API, same origin: blocks from the event stream /v1/events (or a
   poll of /v1/tip and /v1/blocks/{n} while the stream is down), commit
   latency from /metrics, bids from /v1/bids, the DSO's reviews from
   /v1/state/bids, the run's voltages from /ui/run.json. window.glReport
   (common.js) holds the charts for the browser test; window.glDash the
   state. Text from the ledger only ever goes in through textContent. */

const D = (window.glDash = {
  height: null,      /* blocks, genesis included, as /v1/tip says */
  blocks: new Map(), /* number -> {number, tx, valid, ts, hash} */
  last: -1,          /* highest block number seen */
  skewNs: null,      /* node clock minus ours, from live blocks */
  mode: "connecting",
  key: sessionStorage.getItem("gl-key") || null,
  keyRequired: false, /* the node answered 401 without a key */
  market: null,
  reviews: [],
  lat: [],           /* {t, mean, p95, n} per scrape with submissions */
  prevHist: null,
  updates: 0,        /* height changes shown */
  loads: { bids: 0, reviews: 0, metrics: 0 },
});

const RATE_S = 10;
const HIST_S = 120;
const KEEP_BLOCKS = 4000;
const $ = (id) => document.getElementById(id);

function setText(id, text, bad) {
  const e = $(id);
  e.textContent = text;
  if (bad !== undefined) e.classList.toggle("bad", !!bad);
}

/* ---- the API -------------------------------------------------------- */

class NeedKey extends Error {}

async function api(path) {
  const headers = D.key ? { Authorization: `Bearer ${D.key}` } : {};
  const r = await fetch(path, { headers, cache: "no-store" });
  if (r.status === 401) {
    D.keyRequired = true;
    $("keybox").style.display = "block";
    throw new NeedKey("this node needs an API key");
  }
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r;
}
const getJSON = async (path) => (await api(path)).json();

/* A refresh that fails leaves what was shown and says so in the header;
   the node being away for a moment is not a page error. */
async function quietly(what, fn) {
  try {
    await fn();
    return true;
  } catch (err) {
    if (!(err instanceof NeedKey)) console.warn(`${what}: ${err.message}`);
    return false;
  }
}

function setMode(mode, note) {
  D.mode = mode;
  const c = $("conn");
  c.textContent = { live: "live", poll: "polling", down: "node unreachable",
    connecting: "connecting" }[mode];
  c.className = `conn ${mode}`;
  $("conn-note").textContent = note || "";
}

/* ---- blocks ------------------------------------------------------------ */

function nowNodeNs() {
  return Date.now() * 1e6 + (D.skewNs || 0);
}

function onBlock(b, live) {
  if (!isNum(b.number) || D.blocks.has(b.number)) return;
  const valid = isNum(b.valid) ? b.valid
    : arr(b.transactions).filter((t) => t.result === "VALID").length;
  D.blocks.set(b.number, { number: b.number, tx: b.number > 0 ? b.tx_count : 0,
    valid, ts: b.timestamp_ns, hash: b.hash });
  if (D.blocks.size > KEEP_BLOCKS) D.blocks.delete(Math.min(...D.blocks.keys()));
  if (live && isNum(b.timestamp_ns)) D.skewNs = b.timestamp_ns - Date.now() * 1e6;
  if (b.number > D.last) D.last = b.number;
  setHeight(D.last + 1);
  scheduleBlocksTable();
}

function setHeight(h) {
  if (!isNum(h) || (D.height !== null && h <= D.height)) return;
  D.height = h;
  D.updates++;
  setText("height", fmt(h, 0));
  setText("height-s", `tip block ${fmt(h - 1, 0)}`);
  scheduleBlocksTable();
  scheduleMetrics();
}

function drawActivity() {
  const end = nowNodeNs();
  const counts = new Array(HIST_S).fill(0);
  let recent = 0;
  for (const b of D.blocks.values()) {
    if (!isNum(b.ts) || b.number === 0) continue;
    const age = (end - b.ts) / 1e9;
    if (age < 0 || age >= HIST_S) continue;
    counts[HIST_S - 1 - Math.floor(age)] += b.tx;
    if (age < RATE_S) recent += b.tx;
  }
  setText("rate", fmt(recent / RATE_S, recent / RATE_S < 10 ? 1 : 0));
  const c = GL.charts.activity;
  c.data.datasets[0].data = counts;
  c.update("none");
}

let blocksTimer = null;
function scheduleBlocksTable() {
  if (blocksTimer) return;
  blocksTimer = setTimeout(() => {
    blocksTimer = null;
    const t = $("blocks-table");
    t.replaceChildren(row("th", ["block", "time", "transactions", "valid", "hash"],
      [1, 0, 1, 1, 0]));
    const last = [...D.blocks.values()].sort((a, b) => b.number - a.number).slice(0, 8);
    for (const b of last) {
      const when = isNum(b.ts) ? new Date(b.ts / 1e6).toLocaleTimeString("en-GB") : "–";
      t.appendChild(row("td", [fmt(b.number, 0), when, fmt(b.tx, 0), fmt(b.valid, 0),
        `${String(b.hash || "").slice(0, 16)}…`], [1, 0, 1, 1, 0], ["", "", "", "", "mono"]));
    }
    drawActivity();
  }, 100);
}

function row(cell, values, numeric, classes) {
  const tr = el("tr");
  values.forEach((v, i) => {
    const cls = [numeric && numeric[i] ? "n" : "", classes ? classes[i] : ""]
      .filter(Boolean).join(" ");
    tr.appendChild(el(cell, cls ? { class: cls } : {}, v));
  });
  return tr;
}

/* ---- the event stream, and the poll that stands in for it --------------- */

let es = null;
let pollTimer = null;

function connect() {
  if (es) es.close();
  es = null;
  if (D.key && D.keyRequired) {
    /* EventSource cannot send a key: poll instead. (An open node streams
       without one; the events a key would show are counted in each
       block's hidden_events, which is enough to know the bids changed.) */
    startPolling("the event stream cannot carry an API key");
    return;
  }
  const from = D.last >= 0 ? D.last + 1 : Math.max(0, (D.height || 1) - 40);
  const live = D.height || 0;
  /* Blocks, and of the contract events only the bids': they say when the
     bid tables and reviews change. */
  es = new EventSource(`/v1/events?from=${from}&contract=bids`);
  es.onopen = () => { stopPolling(); setMode("live", "event stream /v1/events"); };
  es.addEventListener("block", (e) => {
    const b = JSON.parse(e.data);
    onBlock(b, b.number >= live);
    if (b.hidden_events > 0 && D.key) scheduleBids();
  });
  es.addEventListener("contract", (e) => {
    const ev = JSON.parse(e.data);
    if (ev.contract === "bids") scheduleBids();
  });
  es.onerror = () => {
    /* Reconnect ourselves, from the next block: the URL's ?from would
       otherwise replay the stream from its first block. */
    es.close();
    es = null;
    startPolling("event stream lost; reconnecting");
    setTimeout(connect, 3000);
  };
}

function startPolling(note) {
  setMode("poll", note);
  if (!pollTimer) pollTimer = setInterval(poll, 1000);
}

function stopPolling() {
  clearInterval(pollTimer);
  pollTimer = null;
}

async function poll() {
  const ok = await quietly("poll", async () => {
    const tip = await getJSON("/v1/tip");
    const before = D.last;
    /* The blocks in between, newest 20 at most, for the rate. */
    for (let n = Math.max(D.last + 1, tip.height - 20); n < tip.height; n++) {
      onBlock(await getJSON(`/v1/blocks/${n}`), true);
    }
    setHeight(tip.height);
    if (D.last > before) scheduleBids();
  });
  if (!ok && D.mode !== "down") setMode("down", "retrying every second");
  else if (ok && D.mode === "down") setMode("poll", "the node answers again");
}

/* A stream that says it is open but has stopped while the tip moved on is
   stale (a proxy holding it, say): every 5 s the tip is checked, and a
   stream that brought nothing new over two checks while blocks were
   missing is reopened. A stream merely a block behind a busy node is
   not. */
let stalled = 0;
let lastAtCheck = -1;
setInterval(() => quietly("watchdog", async () => {
  if (D.mode !== "live") return;
  const tip = await getJSON("/v1/tip");
  stalled = tip.height > D.last + 1 && D.last === lastAtCheck ? stalled + 1 : 0;
  lastAtCheck = D.last;
  if (stalled >= 2) {
    stalled = 0;
    connect();
  }
}), 5000);

/* ---- commit latency from /metrics ---------------------------------------- */

function parseHistogram(text) {
  const h = { le: [], cum: [], sum: 0, count: 0 };
  for (const line of text.split("\n")) {
    let m = line.match(/^gl_commit_latency_seconds_bucket\{le="([^"]+)"\} (\S+)/);
    if (m) {
      h.le.push(m[1] === "+Inf" ? Infinity : Number(m[1]));
      h.cum.push(Number(m[2]));
      continue;
    }
    m = line.match(/^gl_commit_latency_seconds_(sum|count) (\S+)/);
    if (m) h[m[1]] = Number(m[2]);
  }
  return h;
}

/* Quantile q of cumulative bucket counts, linear within the bucket (as
   Prometheus' histogram_quantile); seconds. */
function quantile(q, le, cum) {
  const total = cum[cum.length - 1];
  if (!(total > 0)) return NaN;
  const rank = q * total;
  const i = cum.findIndex((c) => c >= rank);
  if (le[i] === Infinity) return le[i - 1];
  const lo = i > 0 ? le[i - 1] : 0;
  const below = i > 0 ? cum[i - 1] : 0;
  return lo + (le[i] - lo) * ((rank - below) / (cum[i] - below));
}

async function scrape() {
  const h = parseHistogram(await (await api("/metrics")).text());
  D.loads.metrics++;
  const p = D.prevHist;
  D.prevHist = h;
  if (p && h.count > p.count && h.cum.length === p.cum.length) {
    const cum = h.cum.map((c, i) => c - p.cum[i]);
    const n = h.count - p.count;
    D.lat.push({ t: Date.now(), mean: ((h.sum - p.sum) / n) * 1000,
      p95: quantile(0.95, h.le, cum) * 1000, n, cum, le: h.le });
    if (D.lat.length > 120) D.lat.shift();
  }
  drawLatency(h);
}

function drawLatency(h) {
  /* The figures: the last minute's submissions, else all since the node
     started. */
  const recent = D.lat.filter((x) => Date.now() - x.t < 60000);
  let cum = null;
  let le = h.le;
  let label = "";
  if (recent.length > 0) {
    cum = recent[0].cum.map((_, i) => recent.reduce((s, x) => s + x.cum[i], 0));
    le = recent[0].le;
    label = "last minute, API submissions";
  } else if (h.count > 0) {
    cum = h.cum;
    label = "since the node started";
  }
  if (cum) {
    setText("lat-p50", fmt(quantile(0.5, le, cum) * 1000, 1, "ms"));
    setText("lat-p95", fmt(quantile(0.95, le, cum) * 1000, 1, "ms"));
    setText("lat-s", label);
    setText("lat-n", `${fmt(cum[cum.length - 1], 0)} submissions`);
  }
  const c = GL.charts.latency;
  const t0 = D.lat.length ? D.lat[0].t : Date.now();
  c.data.datasets[0].data = D.lat.map((x) => ({ x: (x.t - t0) / 1000, y: x.mean }));
  c.data.datasets[1].data = D.lat.map((x) => ({ x: (x.t - t0) / 1000, y: x.p95 }));
  c.update("none");
  $("latency-empty").style.display = D.lat.length ? "none" : "flex";
}

let metricsTimer = null;
function scheduleMetrics() {
  if (metricsTimer) return;
  metricsTimer = setTimeout(() => {
    metricsTimer = null;
    quietly("metrics", scrape);
  }, 250);
}
setInterval(scheduleMetrics, 2000);

/* ---- bids and the DSO's reviews ------------------------------------------- */

function bidRow(b, withReason) {
  const cut = isNum(b.curtailed_kw) && b.curtailed_kw > 0;
  const tr = row("td", [b.uid, fmt(b.interval, 0), "", fmt(b.original_kw, 1),
    fmt(b.kw, 1), b.intact ? fmt(b.curtailed_kw, 1) : "record?", fmt(b.block, 0)],
  [0, 1, 0, 1, 1, 1, 1], ["mono", "", "", "", "", "cutkw", ""]);
  tr.children[2].appendChild(el("span", { class: `status ${b.curtailed ? "curtailed" : ""}` },
    b.curtailed && b.status !== "curtailed" ? `${b.status}, curtailed` : b.status));
  if (cut) tr.classList.add("cut");
  if (!b.intact) tr.title = b.record_error;
  if (withReason) tr.appendChild(el("td", { class: "reason" }, b.reason || ""));
  return tr;
}

function bidTable(id, bids, withReason, none) {
  const t = $(id);
  const head = ["bid", "interval", "status", "kW bid", "kW now", "kW curtailed", "block"];
  if (withReason) head.push("DSO's reason");
  t.replaceChildren(row("th", head, [0, 1, 0, 1, 1, 1, 1, 0]));
  for (const b of bids) t.appendChild(bidRow(b, withReason));
  if (bids.length === 0) {
    const tr = el("tr");
    tr.appendChild(el("td", { colspan: String(head.length), class: "empty" }, none));
    t.appendChild(tr);
  }
}

async function loadBids() {
  const [recent, cut] = await Promise.all([getJSON("/v1/bids?limit=15"),
    getJSON("/v1/bids?curtailed=true&limit=10")]);
  D.loads.bids++;
  setText("bids-total", fmt(recent.total, 0));
  /* Bids are read by their DERA, the DSO and the ISO only: without a key
     (or with another DERA's) the node says how many it keeps back. */
  const hidden = recent.hidden || 0;
  const held = hidden ? ` ${fmt(hidden, 0)} bids need an API key whose member may read them.` : "";
  if (hidden && !D.key) {
    $("keywhy").textContent = `${fmt(hidden, 0)} bids on this node are shown only with an ` +
      "API key of their DERA, the DSO or the ISO (a read-only one is enough). It stays in " +
      "this tab only.";
    $("keybox").style.display = "block";
  }
  bidTable("bids-table", arr(recent.bids), false, `No bids on this ledger.${held}`);
  bidTable("curt-table", arr(cut.bids), true,
    `The DSO has curtailed no bid on this ledger.${held}`);
  const market = arr(recent.bids).length ? recent.bids[0].market : null;
  if (market) await loadReviews(market);
}

let bidsTimer = null;
function scheduleBids() {
  if (bidsTimer) return;
  bidsTimer = setTimeout(() => {
    bidsTimer = null;
    quietly("bids", loadBids);
  }, 300);
}

async function loadReviews(market) {
  const m = encodeURIComponent(market);
  const r = await getJSON(`/v1/state/bids?start=review/${m}/&end=review/${m}0&limit=10000`);
  D.market = market;
  D.reviews = arr(r.keys).map((k) => {
    try { return JSON.parse(k.value); } catch (_) { return null; }
  }).filter((v) => isObj(v) && isNum(v.interval)).sort((a, b) => a.interval - b.interval);
  D.loads.reviews++;
  drawReviews();
  checkRunAgainstReviews();
}

function drawReviews() {
  const rv = D.reviews;
  $("review-title").textContent =
    `Voltages of the latest market run (market ${D.market}), as the DSO recorded them`;
  const c = GL.charts.review;
  const xs = rv.map((v) => v.interval);
  const x0 = xs.length ? Math.min(...xs) - 1 : 0;
  const x1 = xs.length ? Math.max(...xs) + 1 : 1;
  c.data.datasets[0].data = rv.map((v) => ({ x: v.interval, y: v.vmax_before_pu }));
  c.data.datasets[1].data = rv.map((v) => ({ x: v.interval, y: v.vmax_after_pu }));
  c.data.datasets[2].data = rv.map((v) => ({ x: v.interval, y: v.curtailed_kw }));
  c.data.datasets[3].data = [{ x: x0, y: 1.05 }, { x: x1, y: 1.05 }];
  c.options.scales.x.min = x0;
  c.options.scales.x.max = x1;
  c.update("none");
  const cut = rv.filter((v) => v.curtailed_kw > 0);
  const top = (k) => (rv.length ? Math.max(...rv.map((v) => v[k])) : NaN);
  setText("cut-intervals", fmt(cut.length, 0));
  setText("cut-s", rv.length ? `of ${rv.length} reviewed, market ${D.market}` : "");
  setText("vmax-before", fmt(top("vmax_before_pu"), 4, "pu"), top("vmax_before_pu") > 1.05);
  setText("vmax-after", fmt(top("vmax_after_pu"), 4, "pu"), top("vmax_after_pu") > 1.05 + 1e-9);
}

/* ---- the market run's own output ------------------------------------------- */

let run = null;

async function loadRun() {
  run = await getJSON("/ui/run.json");
  const v = run.available && isObj(run.data) && isObj(run.data.voltage) ? run.data.voltage : null;
  const times = v ? arr(v.time_s) : [];
  const series = v && isObj(v.series) ? v.series : {};
  const names = Object.keys(series).filter((k) => Array.isArray(series[k]));
  if (names.length === 0 || times.length === 0) {
    empty("chart-voltage", run.available ? "The market run beside this ledger holds no node voltages."
      : `No market run's output beside this ledger (${run.reason}); the DSO's records on chain above are the voltages this node knows.`);
    return;
  }
  const colour = { 1: "37, 99, 235", 2: "22, 163, 74", 3: "217, 119, 6" };
  const hours = times.map((t) => t / 3600);
  const datasets = names.map((name) => ({
    label: name, borderWidth: 1, pointRadius: 0, fill: false,
    borderColor: `rgba(${colour[name.split(".").pop()] || "100, 116, 139"}, .55)`,
    data: hours.map((x, i) => ({ x, y: series[name][i] })).filter((p) => isNum(p.y)),
  }));
  const h0 = Math.floor(Math.min(...hours));
  const h1 = Math.ceil(Math.max(...hours));
  for (const y of [1.05, 0.95]) {
    datasets.push({ label: `${y} pu`, data: [{ x: h0, y }, { x: h1, y }], borderColor: "#b91c1c",
      borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, fill: false, _ref: true });
  }
  GL.charts.voltage = new Chart($("chart-voltage"), {
    type: "line",
    data: { datasets },
    options: {
      parsing: false, normalized: true,
      scales: {
        x: { type: "linear", min: h0, max: h1, title: { display: true, text: "hour of the day" } },
        y: { title: { display: true, text: "voltage (pu)" }, suggestedMin: 0.94, suggestedMax: 1.06 },
      },
      plugins: { legend: { display: false }, decimation: { enabled: true, algorithm: "min-max" } },
    },
  });
  const s = isObj(run.data.summary) ? run.data.summary : {};
  const step = times.length > 1 ? (times[1] - times[0]) / 60 : NaN;
  const every = step === 1 ? "every minute" : isNum(step) ? `every ${fmt(step, 0)} minutes` : "";
  $("voltage-note").textContent = `${names.length} nodes, ${every}, from the run's output `
    + `beside this ledger (${run.file}, served as /ui/run.json)`
    + (run.data.scenario ? `, scenario ${run.data.scenario}` : "")
    + (isNum(s.max_v_after_pu) ? `; highest after curtailment ${fmt(s.max_v_after_pu, 4, "pu")}` : "")
    + ". Dashed lines: 0.95 and 1.05 pu.";
  checkRunAgainstReviews();
}

/* The run's file and the ledger are two sources: say whether the file's
   per-interval maxima are the ones the DSO recorded on chain. */
function checkRunAgainstReviews() {
  if (!run || !run.available || !isObj(run.data) || D.reviews.length === 0) return;
  const byK = new Map(arr(run.data.intervals).map((r) => [r.interval, r]));
  let same = 0;
  for (const v of D.reviews) {
    const r = byK.get(v.interval);
    if (r && Math.abs(r.max_v_before_pu - v.vmax_before_pu) < 1e-4
      && Math.abs(r.max_v_after_pu - v.vmax_after_pu) < 1e-4) same++;
  }
  D.runMatches = same;
  $("review-note").textContent = `Each interval's review on chain (bids contract, `
    + `review/${D.market}/INTERVAL): the highest node voltage of the DSO's power flow with `
    + `the bids as made and after its curtailment (left axis), and the power it curtailed `
    + `(bars, right axis). ${same} of ${D.reviews.length} intervals agree with the run's `
    + `output beside the ledger.`;
}

/* ---- the charts ------------------------------------------------------------- */

function makeCharts() {
  GL.charts.activity = new Chart($("chart-activity"), {
    type: "bar",
    data: {
      labels: Array.from({ length: HIST_S }, (_, i) => i - HIST_S + 1),
      datasets: [{ label: "transactions", data: new Array(HIST_S).fill(0),
        backgroundColor: "#1d4ed8", barPercentage: 1, categoryPercentage: 1 }],
    },
    options: {
      plugins: { legend: { display: false } },
      scales: {
        x: { title: { display: true, text: "seconds ago" },
          ticks: { callback: (v, i) => ((HIST_S - 1 - i) % 20 === 0 ? String(HIST_S - 1 - i) : "") } },
        y: { beginAtZero: true, title: { display: true, text: "tx per second" } },
      },
    },
  });
  GL.charts.latency = new Chart($("chart-latency"), {
    type: "line",
    data: { datasets: [
      { label: "mean", data: [], borderColor: "#1d4ed8", pointRadius: 2, borderWidth: 1.5 },
      { label: "p95", data: [], borderColor: "#ea580c", pointRadius: 2, borderWidth: 1.5 },
    ] },
    options: {
      parsing: false,
      scales: {
        x: { type: "linear", title: { display: true, text: "seconds since the first scrape shown" } },
        y: { beginAtZero: true, title: { display: true, text: "ms" } },
      },
    },
  });
  GL.charts.review = new Chart($("chart-review"), {
    data: { datasets: [
      { type: "line", label: "max V, bids as made", data: [], borderColor: "#ea580c",
        backgroundColor: "#ea580c", pointRadius: 2, borderWidth: 1.5, yAxisID: "y" },
      { type: "line", label: "max V, after curtailment", data: [], borderColor: "#1d4ed8",
        backgroundColor: "#1d4ed8", pointRadius: 2, borderWidth: 1.5, yAxisID: "y" },
      { type: "bar", label: "curtailed kW", data: [], backgroundColor: "rgba(100, 116, 139, .45)",
        yAxisID: "kw" },
      { type: "line", label: "1.05 pu", data: [], borderColor: "#b91c1c", borderDash: [6, 4],
        borderWidth: 1.5, pointRadius: 0, yAxisID: "y", _ref: true },
    ] },
    options: {
      parsing: false,
      scales: {
        x: { type: "linear", title: { display: true, text: "market interval" } },
        y: { position: "left", title: { display: true, text: "voltage (pu)" },
          suggestedMin: 1.0, suggestedMax: 1.06 },
        kw: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false },
          title: { display: true, text: "curtailed (kW)" } },
      },
    },
  });
}

/* ---- start ------------------------------------------------------------------ */

$("keybox").addEventListener("submit", (e) => {
  e.preventDefault();
  D.key = $("key").value.trim() || null;
  if (D.key) sessionStorage.setItem("gl-key", D.key);
  $("keybox").style.display = "none";
  start();
});

async function start() {
  const tip = await getJSON("/v1/tip");
  $("channel").textContent = `· channel ${tip.channel}`;
  document.title = `gridledger node · ${tip.channel}`;
  setHeight(tip.height);
  await Promise.all([quietly("bids", loadBids), quietly("metrics", scrape),
    quietly("run", loadRun)]);
  connect();
}

section("live", makeCharts);
setInterval(drawActivity, 1000);
start().catch((err) => {
  if (!(err instanceof NeedKey)) {
    setMode("down", err.message);
    console.warn(`start: ${err.message}`);
  }
}).finally(() => { GL.ready = true; });
