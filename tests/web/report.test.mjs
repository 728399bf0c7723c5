// SPDX-License-Identifier: MIT
// The market-day report in headless Chromium: renders sample data with
// rp-render, opens the file offline and checks that every chart drew its
// data, that nothing was fetched and nothing logged an error, that a hostile
// string cannot escape the data, and that missing data leaves placeholders.
//
// usage: node report.test.mjs RP_RENDER
// env:   GL_REPORT_SCREENSHOT=FILE.png  also save a full-page screenshot
//        GL_CHROMIUM=PATH               browser (default /usr/bin/chromium)
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { checker, measureCharts, source, startBrowser } from "./browser.mjs";

const here = dirname(fileURLToPath(import.meta.url));

const render = process.argv[2];
// With the gridledger binary as a second argument, the report of a real
// market day (the shipped scenario) is checked too.
const gridledger = process.argv[3];
if (!render) {
    console.error("usage: node report.test.mjs RP_RENDER");
    process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), "gl-report-test-"));
function report(name, data) {
    const json = join(work, `${name}.json`);
    const html = join(work, `${name}.html`);
    writeFileSync(json, typeof data === "string" ? data : JSON.stringify(data));
    execFileSync(render, ["market", json, html], { stdio: "inherit" });
    return pathToFileURL(html).href;
}

const sampleJson = join(work, "sample.json");
execFileSync(process.execPath, [join(here, "market-sample.mjs"), sampleJson]);
const sampleUrl = report("sample", execFileSync("cat", [sampleJson], { encoding: "utf8" }));

const hostile = "</script><script>window.pwned = 1</script><!-- & \u2028 \"'";
const hostileUrl = report("hostile", {
    title: hostile, scenario: hostile,
    summary: { dso_method: "</SCRIPT ><img src=x onerror=\"window.pwned = 2\">" },
    dispatch: { time_s: [0, 60, 120], series: { [hostile]: [1, 2, 3] } },
});
const emptyUrl = report("empty", {});

const { open, fetched, close } = await startBrowser();
const { check, failures } = checker();

try {
    const { page, errors } = await open(sampleUrl);

    await check("every chart drew its data", async () => {
        const charts = await measureCharts(page);
        console.log(JSON.stringify(charts));
        assert.deepEqual(Object.keys(charts).sort(),
            ["clearing", "dispatch", "intervals", "voltage"]);
        assert.ok(charts.voltage.series >= 30, "one series per node");
        assert.equal(charts.dispatch.series, 9);
        assert.ok(charts.voltage.points >= 30 * 1440);
        for (const [id, c] of Object.entries(charts)) {
            assert.ok(c.drawn > 0, `${id}: no elements`);
            assert.ok(c.withData - c.without > 500,
                `${id}: data drew ${c.withData - c.without} coloured pixels`);
        }
    });

    await check("tables and figures are filled", async () => {
        const t = await page.evaluate(() => ({
            figures: [...document.querySelectorAll("#figures .v")].map((e) => e.textContent),
            counts: document.querySelectorAll("#ledger-counts td").length,
            latency: document.querySelector("#ledger-latency").textContent,
            clearing: document.getElementById("clearing-title").textContent,
            empty: document.querySelectorAll(".empty").length,
            title: document.title,
        }));
        assert.equal(t.figures.length, 10);
        assert.ok(t.figures.includes("1.050 pu"), t.figures.join("|"));
        assert.ok(t.figures.every((v) => v !== "–"), "a summary figure is missing");
        assert.equal(t.counts, 10);
        assert.match(t.latency, /0\.610/);
        assert.equal(t.clearing, "ISO clearing of interval 48 (12:00)");
        assert.equal(t.empty, 0);
        assert.match(t.title, /^DER market day/);
    });

    await check("no console errors, nothing fetched", async () => {
        assert.deepEqual(errors, []);
        assert.deepEqual(fetched, []);
    });

    if (process.env.GL_REPORT_SCREENSHOT) {
        await page.screenshot({ path: process.env.GL_REPORT_SCREENSHOT, fullPage: true });
        console.log(`screenshot: ${process.env.GL_REPORT_SCREENSHOT}`);
    }
    await page.close();

    await check("a hostile string stays data", async () => {
        const { page: p, errors: e } = await open(hostileUrl);
        const r = await p.evaluate(() => ({
            pwned: window.pwned,
            title: document.title,
            h1: document.querySelector("h1").textContent,
            parsed: JSON.parse(document.getElementById("gl-data").textContent).title,
            label: window.glReport.charts.dispatch.data.datasets[0].label,
            scripts: document.scripts.length,
        }));
        assert.equal(r.pwned, undefined);
        assert.equal(r.title, hostile);
        assert.equal(r.h1, hostile);
        assert.equal(r.parsed, hostile);
        assert.equal(r.label, hostile);
        assert.equal(r.scripts, 3); // data, Chart.js, the page's code
        assert.deepEqual(e, []);
        await p.close();
    });

    if (gridledger) {
        await check("the market day's own report drew its data", async () => {
            const out = join(work, "day");
            execFileSync(gridledger, ["run", join(source, "scenarios/ieee13-der-market.json"),
                "--out", out, "--quiet"], { stdio: "inherit" });
            const { page: p, errors: e } = await open(pathToFileURL(join(out, "report.html")).href);
            const charts = await measureCharts(p);
            console.log(JSON.stringify(charts));
            assert.equal(charts.dispatch.series, 9);
            assert.ok(charts.voltage.series >= 30);
            for (const [id, c] of Object.entries(charts)) {
                assert.ok(c.drawn > 0, `${id}: no elements`);
                assert.ok(c.withData - c.without > 500, `${id}: data drew too little`);
            }
            const figures = await p.evaluate(() =>
                [...document.querySelectorAll("#figures .v")].map((x) => x.textContent));
            assert.ok(figures.every((v) => v !== "–"), figures.join("|"));
            assert.deepEqual(e, []);
            if (process.env.GL_DAY_SCREENSHOT) {
                await p.screenshot({ path: process.env.GL_DAY_SCREENSHOT, fullPage: true });
            }
            await p.close();
        });
    }

    await check("missing data leaves placeholders, not errors", async () => {
        const { page: p, errors: e } = await open(emptyUrl);
        const r = await p.evaluate(() => ({
            charts: Object.keys(window.glReport.charts).length,
            empty: document.querySelectorAll(".empty").length,
            errors: window.glReport.errors,
            figures: document.querySelectorAll("#figures .v").length,
        }));
        assert.deepEqual(r, { charts: 0, empty: 4, errors: [], figures: 10 });
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
