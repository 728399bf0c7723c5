// SPDX-License-Identifier: MIT
// What the browser tests of the HTML reports share: Debian's headless
// Chromium through playwright-core (from web/package-lock.json) with a fresh
// profile and the network blocked, opening a report and waiting for it,
// measuring what each chart drew, and a small check runner.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const source = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const { chromium } = createRequire(join(source, "web/package.json"))("playwright-core");

/**
 * Start the browser (GL_CHROMIUM or /usr/bin/chromium). Every request for
 * something other than a file: URL, or a URL starting with one of
 * `allow` (the node a dashboard test serves from), is blocked and recorded
 * in `fetched`: a report must open offline, and a node's page must fetch
 * nothing but its node. Returns { open(url), fetched, close() }, where
 * open() resolves to { page, errors } once window.glReport.ready.
 */
export async function startBrowser({ allow = [] } = {}) {
    const allowed = (url) => url.startsWith("file:") || allow.some((p) => url.startsWith(p));
    const browserPath = process.env.GL_CHROMIUM || "/usr/bin/chromium";
    if (!existsSync(browserPath)) {
        console.error(`${browserPath} not found: run scripts/deps.sh (Debian package chromium)`);
        process.exit(1);
    }
    const userData = mkdtempSync(join(tmpdir(), "gl-chromium-"));
    const context = await chromium.launchPersistentContext(userData, {
        executablePath: browserPath,
        headless: true,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        viewport: { width: 1280, height: 900 },
        deviceScaleFactor: 1,
        offline: allow.length === 0,
    });
    const fetched = [];
    await context.route("**/*", (route) => {
        const url = route.request().url();
        if (allowed(url)) return route.continue();
        fetched.push(url);
        return route.abort();
    });
    async function open(url) {
        const page = await context.newPage();
        const errors = [];
        page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
        page.on("pageerror", (e) => errors.push(String(e)));
        page.on("requestfailed", (r) => { if (!allowed(r.url())) fetched.push(r.url()); });
        await page.goto(url, { waitUntil: "load" });
        await page.waitForFunction(() => window.glReport && window.glReport.ready, null,
            { timeout: 30000 });
        return { page, errors };
    }
    async function close() {
        await context.close();
        rmSync(userData, { recursive: true, force: true });
    }
    return { open, fetched, close };
}

/**
 * What each chart of @page drew: its data series (datasets not marked
 * _ref), their points, the elements drawn, and the saturated pixels in the
 * plot area with the data shown and hidden (grid and axes are grey, data is
 * coloured; reference lines stay in both), plus the sum of the numbers the
 * data series hold.
 */
export async function measureCharts(page) {
    return page.evaluate(() => {
        function coloured(chart) {
            const r = chart.currentDevicePixelRatio;
            const a = chart.chartArea;
            const img = chart.ctx.getImageData(a.left * r, a.top * r,
                (a.right - a.left) * r, (a.bottom - a.top) * r).data;
            let n = 0;
            for (let i = 0; i < img.length; i += 4) {
                const mx = Math.max(img[i], img[i + 1], img[i + 2]);
                const mn = Math.min(img[i], img[i + 1], img[i + 2]);
                if (img[i + 3] > 40 && mx - mn > 50) n++;
            }
            return n;
        }
        const out = {};
        for (const [id, chart] of Object.entries(window.glReport.charts)) {
            const data = chart.data.datasets
                .map((d, i) => ({ d, i })).filter(({ d }) => !d._ref);
            const points = data.reduce((s, { d }) => s + d.data.length, 0);
            const total = data.reduce((s, { d }) => s + d.data
                .reduce((a, v) => a + (typeof v === "number" ? v : 0), 0), 0);
            const drawn = data.reduce((s, { i }) => s + chart.getDatasetMeta(i).data.length, 0);
            const withData = coloured(chart);
            data.forEach(({ i }) => chart.setDatasetVisibility(i, false));
            chart.update();
            const without = coloured(chart);
            data.forEach(({ i }) => chart.setDatasetVisibility(i, true));
            chart.update();
            out[id] = { series: data.length, points, total, drawn, withData, without,
                canvas: chart.canvas.id };
        }
        return out;
    });
}

/** A TAP-like check runner: check(name, fn); failures() counts them. */
export function checker() {
    let failed = 0;
    async function check(name, fn) {
        try {
            await fn();
            console.log(`ok - ${name}`);
        } catch (err) {
            failed++;
            console.log(`not ok - ${name}\n${err.stack || err}`);
        }
    }
    return { check, failures: () => failed };
}
