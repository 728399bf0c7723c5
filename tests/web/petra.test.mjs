// SPDX-License-Identifier: MIT
// The PETra report in headless Chromium: runs the shipped microgrid
// scenario with gridledger, opens its report.html offline and checks that
// the charts drew the run's data, that the tables hold the run's trades and
// statistics, that nothing was fetched or logged an error, that a hostile
// string stays data, and that missing data leaves placeholders.
//
// usage: node petra.test.mjs GRIDLEDGER RP_RENDER
// env:   GL_PETRA_SCREENSHOT=FILE.png  also save a full-page screenshot
//        GL_CHROMIUM=PATH              browser (default /usr/bin/chromium)
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { checker, measureCharts, source, startBrowser } from "./browser.mjs";

const [gridledger, render] = process.argv.slice(2);
if (!gridledger || !render) {
    console.error("usage: node petra.test.mjs GRIDLEDGER RP_RENDER");
    process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), "gl-petra-test-"));
const out = join(work, "run");
execFileSync(gridledger, ["run", join(source, "scenarios/petra-microgrid.json"), "--out", out,
    "--quiet"], { stdio: "inherit" });
const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
const trades = readFileSync(join(out, "trades.csv"), "utf8").trim().split("\n").slice(1);

function report(name, data) {
    const json = join(work, `${name}.json`);
    const html = join(work, `${name}.html`);
    writeFileSync(json, JSON.stringify(data));
    execFileSync(render, ["petra", json, html], { stdio: "inherit" });
    return pathToFileURL(html).href;
}
const hostile = "</script><script>window.pwned = 1</script><!-- & \"'";
const hostileUrl = report("hostile", {
    title: hostile, scenario: hostile,
    trades: [{ offer: hostile, kind: "ask", start: "14:15", power_w: 1, price: 0.2,
        amount: 0.1, clearing_ms: 3 }],
    failed_withdrawals: [{ prosumer: hostile, start: "14:15", power_w: 5, reason: hostile }],
});
const emptyUrl = report("empty", {});

const { open, fetched, close } = await startBrowser();
const { check, failures } = checker();

try {
    const { page, errors } = await open(pathToFileURL(join(out, "report.html")).href);

    await check("the run traded and its report drew the histogram and the intervals", async () => {
        assert.ok(results.summary.trades > 50, `${results.summary.trades} trades`);
        assert.equal(trades.length, results.summary.trades);
        const charts = await measureCharts(page);
        console.log(JSON.stringify(charts));
        assert.deepEqual(Object.keys(charts).sort(), ["clearing", "energy"]);
        // The histogram counts every trade once.
        assert.equal(charts.clearing.total, results.summary.trades);
        assert.equal(charts.energy.series, 3);
        for (const [id, c] of Object.entries(charts)) {
            assert.ok(c.withData - c.without > 500,
                `${id}: data drew ${c.withData - c.without} coloured pixels`);
        }
    });

    await check("figures and tables hold the run's numbers", async () => {
        const t = await page.evaluate(() => ({
            figures: [...document.querySelectorAll("#figures .v")].map((e) => e.textContent),
            stats: [...document.querySelectorAll("#clearing-stats tr")].map((r) =>
                [...r.children].map((c) => c.textContent)),
            trades: document.querySelectorAll("#trade-table tr").length - 1,
            failed: document.querySelectorAll("#failed-table tr").length - 1,
            empty: document.querySelectorAll(".empty").length,
        }));
        assert.equal(t.figures.length, 12);
        assert.ok(t.figures.every((v) => v !== "–"), t.figures.join("|"));
        assert.equal(t.trades, results.summary.trades);
        assert.equal(t.failed, results.summary.failed_withdrawals);
        assert.ok(t.failed > 0, "the scenario has refused withdrawals");
        const row = (name) => t.stats.find((r) => r[0] === name);
        const ms = (v) => `${v.toLocaleString("en-US", { minimumFractionDigits: 2,
            maximumFractionDigits: 2 })} ms`;
        assert.equal(row("median")[1], ms(results.clearing.median));
        assert.equal(row("90th percentile")[1], ms(results.clearing.p90));
        assert.equal(row("mean")[2], "11.79 s");
        assert.equal(row("90th percentile")[2], "23.00 s");
        assert.equal(t.empty, 0);
    });

    await check("no console errors, nothing fetched", async () => {
        assert.deepEqual(errors, []);
        assert.deepEqual(fetched, []);
    });

    if (process.env.GL_PETRA_SCREENSHOT) {
        await page.screenshot({ path: process.env.GL_PETRA_SCREENSHOT, fullPage: true });
        console.log(`screenshot: ${process.env.GL_PETRA_SCREENSHOT}`);
    }
    await page.close();

    await check("a hostile string stays data", async () => {
        const { page: p, errors: e } = await open(hostileUrl);
        const r = await p.evaluate(() => ({
            pwned: window.pwned,
            title: document.title,
            cell: document.querySelector("#trade-table td").textContent,
            reason: [...document.querySelectorAll("#failed-table td")].pop().textContent,
            scripts: document.scripts.length,
        }));
        assert.equal(r.pwned, undefined);
        assert.equal(r.title, hostile);
        assert.equal(r.cell, hostile);
        assert.equal(r.reason, hostile);
        assert.equal(r.scripts, 3);
        assert.deepEqual(e, []);
        await p.close();
    });

    await check("missing data leaves placeholders, not errors", async () => {
        const { page: p, errors: e } = await open(emptyUrl);
        const r = await p.evaluate(() => ({
            charts: Object.keys(window.glReport.charts).length,
            empty: document.querySelectorAll(".empty").length,
            errors: window.glReport.errors,
            figures: document.querySelectorAll("#figures .v").length,
        }));
        assert.deepEqual(r, { charts: 0, empty: 4, errors: [], figures: 12 });
        assert.deepEqual(e, []);
        await p.close();
    });
} finally {
    await close();
    rmSync(work, { recursive: true, force: true });
}
if (failures()) {
    console.log(`${failures()} check(s) failed`);
    process.exit(1);
}
console.log("all checks passed");
