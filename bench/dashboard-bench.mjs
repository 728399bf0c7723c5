// SPDX-License-Identifier: MIT
// How fast the node's dashboard follows the ledger (docs/performance.md,
// "Dashboard (issue 5)"): a market day's ledger served by a real node on a
// loopback port, the page open in Debian's headless Chromium, and N
// transactions submitted one at a time through the API. For each, the time
// from sending it to the node's answer (its block is durable) and to the
// page showing the new height, by the event stream and then by the fallback
// poll with the stream cut; plus the page's load time and GET /v1/bids.
// Prints figures; asserts nothing about time.
//
// usage: node bench/dashboard-bench.mjs GRIDLEDGER [--tx N]
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir, loadavg } from "node:os";
import { join } from "node:path";
import { source, startBrowser } from "../tests/web/browser.mjs";

const args = process.argv.slice(2);
const gridledger = args[0];
const txIdx = args.indexOf("--tx");
const N = txIdx > 0 ? Number(args[txIdx + 1]) : 50;
if (!gridledger || !(N > 0)) {
    console.error("usage: node bench/dashboard-bench.mjs GRIDLEDGER [--tx N]");
    process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), "gl-dash-bench-"));
const day = join(work, "day");
const ledger = join(day, "ledger");
execFileSync(gridledger, ["run", join(source, "scenarios/ieee13-der-market.json"), "--out", day,
    "--quiet"]);
const key = execFileSync(gridledger, ["apikey", "create", ledger, "--name", "bench",
    "--identity", "DERA1/operator", "--allow", "asset.*"], { encoding: "utf8" })
    .match(/glk_[0-9a-f_]+/)[0];
const ready = join(work, "ready");
const node = spawn(gridledger, ["node", ledger, "--listen", "127.0.0.1:0", "--ready-file", ready,
    "--no-access-log", "--log-level", "warn"], { stdio: ["ignore", "ignore", "inherit"] });
for (let i = 0; i < 3000 && !existsSync(ready); i++) await new Promise((r) => setTimeout(r, 10));
const url = readFileSync(ready, "utf8").trim();

const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
    return { n: s.length, p50: q(0.5), p95: q(0.95), max: s[s.length - 1] };
};
const ms = (v) => v.toFixed(1);
const line = (name, s) => console.log(`${name.padEnd(46)} n=${s.n}  p50 ${ms(s.p50)} ms  `
    + `p95 ${ms(s.p95)} ms  max ${ms(s.max)} ms`);

const { open, close } = await startBrowser({ allow: [url] });
try {
    console.log(`load average before: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
    const loads = [];
    for (let i = 0; i < 5; i++) {
        const t0 = Date.now();
        const { page } = await open(`${url}/`);
        loads.push(Date.now() - t0);
        await page.close();
    }
    line("page load to ready (tip, bids, run, metrics)", stats(loads));

    const { page } = await open(`${url}/`);
    // When the page shows each height, by the page's own clock (the same
    // machine's as this process).
    await page.evaluate(() => {
        window.seen = {};
        const h = document.getElementById("height");
        new MutationObserver(() => {
            window.seen[h.textContent.replace(/,/g, "")] = Date.now();
        }).observe(h, { childList: true, characterData: true, subtree: true });
    });
    // Times from sending the submission: to the node's answer (the block
    // is durable), and to the page showing its height. The page can show
    // it before the submitter reads its answer: the node wakes the stream
    // and the waiting request at the same commit.
    async function follow(label) {
        const lag = [];
        const rtt = [];
        for (let i = 0; i < N; i++) {
            const sent = Date.now();
            const r = await fetch(`${url}/v1/invoke`, { method: "POST",
                headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
                body: JSON.stringify({ contract: "asset", function: "create",
                    args: [`${label}-${i}`, "1"] }) });
            const answered = Date.now();
            const res = await r.json();
            const h = String(res.block + 1);
            await page.waitForFunction((x) => window.seen[x] !== undefined, h,
                { timeout: 30000, polling: 10 });
            lag.push((await page.evaluate((x) => window.seen[x], h)) - sent);
            rtt.push(answered - sent);
            // A random pause (0.1-1.1 s), so submissions do not fall into
            // step with the page's one-second poll.
            await new Promise((r2) => setTimeout(r2, 100 + Math.random() * 1000));
        }
        line(`submitted -> answered (${label})`, stats(rtt));
        line(`submitted -> height shown (${label})`, stats(lag));
    }
    await follow("event stream");
    await page.route("**/v1/events*", (route) => route.abort());
    await page.evaluate(() => connect());
    await page.waitForFunction(() => window.glDash.mode === "poll");
    await follow("poll, stream cut");
    await page.close();

    for (const path of ["/v1/bids?limit=15", "/v1/bids?curtailed=true&limit=10", "/ui/run.json",
        "/"]) {
        const t = [];
        let size = 0;
        for (let i = 0; i < 200; i++) {
            const t0 = process.hrtime.bigint();
            const r = await fetch(url + path);
            size = (await r.arrayBuffer()).byteLength;
            t.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        line(`GET ${path} (${(size / 1024).toFixed(0)} KiB)`, stats(t));
    }
    console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
} finally {
    await close();
    node.kill("SIGTERM");
    await new Promise((r) => node.on("exit", r));
    rmSync(work, { recursive: true, force: true });
}
