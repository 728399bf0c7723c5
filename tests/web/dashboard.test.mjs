// SPDX-License-Identifier: MIT
// The node's dashboard in headless Chromium: a real market day
// (`gridledger run` of the shipped scenario), a real node serving its
// ledger on a free loopback port, and the page at / checked as a person
// would see it: it loads without errors and fetches nothing but the node,
// the charts drew the DSO's voltages and the run's node voltages, the height
// is the node's, the curtailed bids show with their reasons and kW; then
// transactions submitted through the API move the height, the rate and the
// latency without a reload, a new bid appears in the table (its hostile uid
// stays text), and with the event stream cut the poll still follows the tip;
// a node that needs an API key gets one typed in and is followed by polling.
//
// usage: node dashboard.test.mjs GRIDLEDGER
// env:   GL_DASH_SCREENSHOT=FILE.png  also save a full-page screenshot
//        GL_CHROMIUM=PATH             browser (default /usr/bin/chromium)
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { checker, measureCharts, source, startBrowser } from "./browser.mjs";

const gridledger = process.argv[2];
if (!gridledger) {
    console.error("usage: node dashboard.test.mjs GRIDLEDGER");
    process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), "gl-dash-test-"));
const day = join(work, "day");
const ledger = join(day, "ledger");
execFileSync(gridledger, ["run", join(source, "scenarios/ieee13-der-market.json"),
    "--out", day, "--quiet"], { stdio: "inherit" });
function apikey(name, identity, allow) {
    const out = execFileSync(gridledger, ["apikey", "create", ledger, "--name", name,
        "--identity", identity, "--allow", allow], { encoding: "utf8" });
    const m = out.match(/glk_[0-9a-f]{16}_[0-9a-f]{64}/);
    assert.ok(m, `no key in: ${out}`);
    return m[0];
}
const deraKey = apikey("dash-dera", "DERA1/operator", "asset.*,registry.*,bids.*");
const dsoKey = apikey("dash-dso", "DSO/operator", "registry.*");

const viewerKey = execFileSync(gridledger, ["apikey", "create", ledger, "--name", "dash-viewer",
    "--identity", "DSO/operator", "--read-only"], { encoding: "utf8" })
    .match(/glk_[0-9a-f]{16}_[0-9a-f]{64}/)[0];

// The node, on a port the kernel picks; its URL comes in the ready file.
let node = null;
let nodeExit = null;
let url = null;
async function startNode(extra) {
    const ready = join(work, "ready");
    rmSync(ready, { force: true });
    nodeExit = null;
    node = spawn(gridledger, ["node", ledger, "--listen", "127.0.0.1:0", "--ready-file", ready,
        "--no-access-log", ...extra], { stdio: ["ignore", "ignore", "inherit"] });
    node.on("exit", (code, sig) => { nodeExit = code ?? sig; });
    for (let i = 0; i < 6000 && !existsSync(ready) && nodeExit === null; i++) {
        await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(existsSync(ready), `the node did not start (exit ${nodeExit})`);
    url = readFileSync(ready, "utf8").trim();
}
async function stopNode() {
    if (nodeExit !== null) return;
    const exited = new Promise((r) => node.on("exit", r));
    node.kill("SIGTERM");
    await exited;
}
await startNode([]);

async function api(path, { key, json, body, type } = {}) {
    // (url is the running node's: it changes when the node restarts.)
    const headers = {};
    if (key) headers.Authorization = `Bearer ${key}`;
    if (json !== undefined) headers["Content-Type"] = "application/json";
    if (type) headers["Content-Type"] = type;
    const r = await fetch(url + path, { method: json !== undefined || body ? "POST" : "GET",
        headers, body: json !== undefined ? JSON.stringify(json) : body });
    const text = await r.text();
    assert.ok(r.ok, `${path}: ${r.status} ${text}`);
    return JSON.parse(text);
}
const invoke = (key, contract, fn, args) =>
    api("/v1/invoke", { key, json: { contract, function: fn, args } });
const height = async () => (await api("/v1/tip")).height;

// The browser may reach the nodes of this test (loopback, any port) and
// nothing else.
const { open, fetched, close } = await startBrowser({ allow: ["http://127.0.0.1:"] });
const { check, failures } = checker();
const shown = (page) => page.evaluate(() => Number(document.getElementById("height")
    .textContent.replace(/,/g, "")));

try {
    const { page, errors } = await open(`${url}/`);

    // Bids are read by their DERA, the DSO and the ISO (issue 15, finding
    // 4): without a key the page shows none and asks for one.
    await check("without a key no bid shows, and the page asks for one", async () => {
        await page.waitForSelector("#keybox", { state: "visible", timeout: 20000 });
        const s = await page.evaluate(() => ({
            why: document.getElementById("keywhy").textContent,
            rows: document.querySelectorAll("#bids-table tr").length - 1,
            empty: document.querySelector("#bids-table td").textContent,
        }));
        assert.match(s.why, /bids on this node are shown only with an API key/);
        assert.equal(s.rows, 1);
        assert.match(s.empty, /need an API key/);
        assert.equal((await api("/v1/bids?limit=1")).bids.length, 0);
        await page.fill("#key", viewerKey);
        await page.click("#keybox button");
        await page.waitForFunction(() => document.querySelectorAll("#bids-table tr").length > 2
            && window.glDash.reviews.length > 0, null, { timeout: 20000 });
    });
    await page.evaluate(() => { window.notReloaded = true; });

    await check("the height shown is the node's", async () => {
        assert.equal(await shown(page), await height());
    });

    await check("the market run's charts drew its data", async () => {
        const charts = await measureCharts(page);
        console.log(JSON.stringify(charts));
        assert.deepEqual(Object.keys(charts).sort(), ["activity", "latency", "review", "voltage"]);
        // The DSO's reviews on chain: two voltage lines and the curtailed kW.
        assert.equal(charts.review.series, 3);
        assert.ok(charts.review.points >= 3 * 40, "one point per reviewed interval");
        assert.ok(charts.voltage.series >= 30, "one series per node");
        for (const id of ["review", "voltage"]) {
            assert.ok(charts[id].drawn > 0, `${id}: no elements`);
            assert.ok(charts[id].withData - charts[id].without > 500,
                `${id}: data drew ${charts[id].withData - charts[id].without} coloured pixels`);
        }
        const s = await page.evaluate(() => ({
            reviews: window.glDash.reviews.length, matches: window.glDash.runMatches,
            cut: document.getElementById("cut-intervals").textContent,
            before: document.getElementById("vmax-before").textContent,
            after: document.getElementById("vmax-after").textContent,
        }));
        // The run's own file and the ledger agree interval by interval.
        assert.equal(s.matches, s.reviews);
        const results = JSON.parse(readFileSync(join(day, "results.json"), "utf8")).summary;
        assert.equal(s.before, `${results.max_v_before_pu.toFixed(4)} pu`);
        assert.equal(s.after, `${results.max_v_after_pu.toFixed(4)} pu`);
        assert.ok(Number(s.cut) > 0);
    });

    await check("the curtailed bids show with the DSO's reasons and kW", async () => {
        const want = await api("/v1/bids?curtailed=true&limit=10", { key: viewerKey });
        assert.ok(want.bids.length >= 5);
        const rows = await page.evaluate(() => [...document.querySelectorAll("#curt-table tr")]
            .slice(1).map((tr) => [...tr.children].map((td) => td.textContent)));
        assert.equal(rows.length, want.bids.length);
        rows.forEach((r, i) => {
            const b = want.bids[i];
            assert.equal(r[0], b.uid);
            assert.match(r[2], /curtailed/);
            assert.equal(r[5], b.curtailed_kw.toLocaleString("en-US",
                { minimumFractionDigits: 1, maximumFractionDigits: 1 }));
            assert.equal(r[7], b.reason);
            assert.match(r[7], /curtailment: max 1\.0\d+ pu/);
        });
        const recent = await page.evaluate(() =>
            document.querySelectorAll("#bids-table tr").length - 1);
        assert.equal(recent, 15);
    });

    await check("submitted transactions move the height, rate and latency without a reload",
        async () => {
            const before = await height();
            for (let i = 0; i < 6; i++) {
                const r = await invoke(deraKey, "asset", "create", [`dash-${i}`, "1"]);
                assert.equal(r.result, "VALID");
            }
            const tip = await height();
            assert.ok(tip >= before + 1);
            await page.waitForFunction((h) => Number(document.getElementById("height")
                .textContent.replace(/,/g, "")) === h, tip, { timeout: 20000 });
            const st = await page.evaluate(() => ({ mode: window.glDash.mode,
                reloaded: window.notReloaded !== true }));
            assert.deepEqual(st, { mode: "live", reloaded: false });
            // The latency histogram is scraped every 2 s.
            await page.waitForFunction(() => window.glDash.lat.length > 0, null,
                { timeout: 20000 });
            const charts = await measureCharts(page);
            console.log(JSON.stringify({ activity: charts.activity, latency: charts.latency }));
            assert.ok(charts.activity.total >= 6, "the six transactions in the last 2 minutes");
            assert.ok(charts.activity.withData - charts.activity.without > 20);
            assert.ok(charts.latency.points >= 2 && charts.latency.drawn >= 2);
            assert.ok(charts.latency.withData - charts.latency.without > 20);
            const f = await page.evaluate(() => ({
                p50: document.getElementById("lat-p50").textContent,
                n: document.getElementById("lat-n").textContent,
                blocks: document.querySelectorAll("#blocks-table tr").length - 1,
                top: document.querySelector("#blocks-table tr:nth-child(2) td").textContent,
            }));
            assert.match(f.p50, /^[\d.,]+ ms$/);
            assert.match(f.n, /^[1-9]\d* submissions$/);
            assert.equal(f.blocks, 8);
            assert.equal(Number(f.top.replace(/,/g, "")), tip - 1);
        });

    if (process.env.GL_DASH_SCREENSHOT) {
        await page.screenshot({ path: process.env.GL_DASH_SCREENSHOT, fullPage: true });
        console.log(`screenshot: ${process.env.GL_DASH_SCREENSHOT}`);
    }

    await check("a new bid appears without a reload, its uid kept as text", async () => {
        // Markup cannot be a bid uid any more (uids are canonical
        // identifiers, issue 15): the node refuses the call before it
        // signs it, with the contract's reason.
        const refused = await fetch(url + "/v1/invoke", { method: "POST",
            headers: { Authorization: `Bearer ${deraKey}`, "Content-Type": "application/json" },
            body: JSON.stringify({ contract: "bids", function: "create",
                args: ["<img src=x onerror=window.pwned=1>", "rt", "95", "a".repeat(64), "pvdash"] }) });
        assert.equal(refused.status, 400);
        assert.match((await refused.json()).reason, /bid uid/);
        const uid = "dash-95";
        await invoke(deraKey, "registry", "register",
            ["pvdash", "dash", "675", "abc", "pv", "40", "44"]);
        await invoke(dsoKey, "registry", "qualify", ["pvdash", "40"]);
        const record = JSON.stringify({ uid, dera: "DERA1", market: "rt", interval: 95,
            entries: [{ der: "pvdash", kw: 12.5, price: 30, cap: 60 }] });
        const { hash } = await api("/v1/offchain", { key: deraKey, body: record,
            type: "application/octet-stream" });
        assert.equal(hash, createHash("sha256").update(record).digest("hex"));
        const r = await invoke(deraKey, "bids", "create", [uid, "rt", "95", hash, "pvdash"]);
        assert.equal(r.result, "VALID");
        await page.waitForFunction((u) => {
            const td = document.querySelector("#bids-table tr:nth-child(2) td");
            return td && td.textContent === u;
        }, uid, { timeout: 20000 });
        const row = await page.evaluate(() => ({
            cells: [...document.querySelectorAll("#bids-table tr:nth-child(2) td")]
                .map((td) => td.textContent),
            pwned: window.pwned, imgs: document.querySelectorAll("#bids-table img").length,
        }));
        assert.equal(row.pwned, undefined);
        assert.equal(row.imgs, 0);
        assert.deepEqual(row.cells.slice(1, 5), ["95", "submitted", "12.5", "12.5"]);
    });

    let cut = errors.length;
    await check("with the event stream cut, the poll follows the tip", async () => {
        cut = errors.length;
        await page.route("**/v1/events*", (route) => route.abort());
        await page.evaluate(() => connect());
        await page.waitForFunction(() => window.glDash.mode === "poll", null, { timeout: 20000 });
        await invoke(deraKey, "asset", "create", ["dash-poll", "1"]);
        const tip = await height();
        await page.waitForFunction((h) => Number(document.getElementById("height")
            .textContent.replace(/,/g, "")) === h, tip, { timeout: 20000 });
        assert.equal(await page.evaluate(() => window.glDash.mode), "poll");
        await page.unroute("**/v1/events*");
    });

    await check("no console errors, nothing fetched but the node", async () => {
        // Chromium logs the event stream the last check aborted; that, and
        // only after the cut, is the test's doing.
        assert.deepEqual(errors.slice(0, cut), []);
        for (const e of errors.slice(cut)) {
            assert.equal(e, "Failed to load resource: net::ERR_FAILED");
        }
        assert.deepEqual(fetched, []);
        assert.deepEqual(await page.evaluate(() => window.glReport.errors), []);
    });

    await page.close();

    await check("a node that needs a key: the page asks for one, then polls", async () => {
        await stopNode();
        await startNode(["--require-key"]);
        const { page: p, errors: e } = await open(`${url}/`);
        await p.waitForSelector("#keybox", { state: "visible", timeout: 20000 });
        await p.fill("#key", viewerKey);
        await p.click("#keybox button");
        const tip = (await api("/v1/tip", { key: viewerKey })).height;
        // The height comes first; the tables, then polling, once the rest
        // of the first load is in.
        await p.waitForFunction((h) => Number(document.getElementById("height")
            .textContent.replace(/,/g, "")) === h && window.glDash.mode === "poll"
            && document.querySelectorAll("#bids-table tr").length > 1, tip,
        { timeout: 20000 });
        const r = await p.evaluate(() => ({ mode: window.glDash.mode,
            box: getComputedStyle(document.getElementById("keybox")).display,
            bids: document.querySelectorAll("#bids-table tr").length - 1 }));
        assert.deepEqual(r, { mode: "poll", box: "none", bids: 15 });
        // The first request, before the key: the browser logs its 401.
        for (const x of e) assert.match(x, /status of 401/);
        await p.close();
    });
} finally {
    await close();
    await stopNode();
    rmSync(work, { recursive: true, force: true });
}
if (failures()) {
    console.log(`${failures()} check(s) failed`);
    process.exit(1);
}
console.log("all checks passed");
