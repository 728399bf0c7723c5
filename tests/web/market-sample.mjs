// SPDX-License-Identifier: MIT
// A synthetic but plausible DER market day on the IEEE 13 node feeder, in the
// report's JSON format (docs/report.md), for the browser test and the docs
// screenshot. Deterministic: a fixed-seed generator, no clock.
//
// usage: node market-sample.mjs OUT.json
import { writeFileSync } from "node:fs";

let seed = 13;
function rand() { // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const round = (v, d) => Math.round(v * 10 ** d) / 10 ** d;

const ders = [["pv671", 250], ["pv675", 180], ["pv680", 220], ["pv692", 120],
    ["pv634", 90], ["pv633", 110], ["pv652", 80], ["pv611", 70], ["pv645", 100]];
const nodes = { rg60: "123", 632: "123", 633: "123", 634: "123", 645: "23",
    646: "23", 671: "123", 680: "123", 684: "13", 611: "3", 652: "1", 692: "123",
    675: "123" };
// Electrical distance from the substation: how much load pulls a node down
// and how much PV pushes it up.
const depth = { rg60: 0, 632: .35, 633: .4, 634: .55, 645: .45, 646: .5, 671: .8,
    680: 1, 684: .85, 611: .9, 652: .9, 692: .8, 675: .85 };

const sun = (h) => Math.max(0, Math.sin(Math.PI * (h - 6.2) / 13.1)) ** 1.5 * (h > 6.2 && h < 19.3);
const load = (h) => .55 + .25 * Math.exp(-((h - 8) ** 2) / 4) + .4 * Math.exp(-((h - 19) ** 2) / 5);
const cloud = Array.from({ length: 1440 }, () => 1);
for (let i = 1; i < 1440; i++) cloud[i] = Math.min(1, Math.max(.6, cloud[i - 1] + (rand() - .5) * .04));

// The market per interval: the DSO curtails until the maximum voltage is
// back under 1.05 pu.
const intervals = [];
const curtailShare = [];
for (let k = 0; k < 96; k++) {
    const h = (k * 15 + 7.5) / 60;
    const bid = ders.reduce((s, [, cap]) => s + cap * sun(h), 0) * 1.1;
    const before = 1.0 + .045 * (1 - load(h)) + .00005 * bid + rand() * .002;
    let after = before;
    let curtailed = 0;
    if (before > 1.05) {
        after = 1.0485 + rand() * .001;
        curtailed = (before - after) / .00005;
    }
    curtailShare.push(bid > 0 ? curtailed / bid : 0);
    const cleared = Math.max(0, bid - curtailed) * (.9 + .1 * rand());
    intervals.push({ interval: k, start_s: k * 900, max_v_before_pu: round(before, 4),
        max_v_after_pu: round(after, 4), curtailed_kw: round(curtailed, 1),
        price: round(28 + 12 * load(h) + 6 * rand(), 2), cleared_kw: round(cleared, 1),
        bid_kw: round(bid, 1) });
}

const time_s = Array.from({ length: 1440 }, (_, i) => i * 60);
const dispatch = {};
for (const [name, cap] of ders) {
    dispatch[name] = time_s.map((t, i) => {
        const h = t / 3600;
        return round(cap * sun(h) * cloud[i] * (1 - curtailShare[Math.floor(i / 15)]), 2);
    });
}
const total = time_s.map((_, i) => ders.reduce((s, [n]) => s + dispatch[n][i], 0));
const voltage = {};
for (const [bus, phases] of Object.entries(nodes)) {
    for (const p of phases) {
        const off = (p === "1" ? .004 : p === "2" ? .012 : -.006) + (rand() - .5) * .004;
        voltage[`${bus}.${p}`] = time_s.map((t, i) => {
            const h = t / 3600;
            const v = 1.03 + off - depth[bus] * .07 * load(h) + depth[bus] * .00004 * total[i];
            return round(Math.min(v, 1.0495 + (rand() - .5) * .0005), 4);
        });
    }
}

const noon = intervals[48];
const offers = ders.map(([name, cap], i) => [cap * sun(12.1) * 1.1, 20 + 2.5 * i]);
const cum = (list, scale) => {
    let q = 0;
    return list.map(([kw, p]) => [round((q += kw * scale), 1), round(p, 2)]);
};
const share = 1 - curtailShare[48];
// The ISO clears interval 48 where demand meets the curtailed offers.
const curtailed = cum(offers, share);
const cross = curtailed.findIndex(([q]) => q > 540);
noon.price = curtailed[cross][1];
noon.cleared_kw = 540;
const data = {
    title: "DER market day — IEEE 13 node feeder (sample data)",
    scenario: "tests/web/market-sample.mjs (synthetic)",
    summary: { intervals: 96, ders: ders.length, deras: 1,
        curtailed_kwh: round(intervals.reduce((s, r) => s + r.curtailed_kw / 4, 0), 1),
        max_v_before_pu: Math.max(...intervals.map((r) => r.max_v_before_pu)),
        max_v_after_pu: Math.max(...intervals.map((r) => r.max_v_after_pu)),
        min_v_after_pu: Math.min(...Object.values(voltage).flat()),
        ledger_tx: 2304, ledger_blocks: 412, runtime_s: 3.8, dso_method: "proportional" },
    voltage: { time_s, series: voltage },
    dispatch: { time_s, series: dispatch },
    intervals,
    clearing: { interval: 48, price: noon.price, cleared_kw: noon.cleared_kw,
        original: cum(offers, 1), curtailed,
        demand: [[300, 70], [450, 55], [540, noon.price], [700, 30], [900, 15]] },
    ledger: { transactions: 2304, valid: 2291, invalid: 13, blocks: 412,
        bid_store_ms: { p50: 0.61, p99: 1.9, max: 4.2 },
        bid_retrieve_ms: { p50: 0.021, p99: 0.06, max: 0.31 }, tps: 1850 },
};
writeFileSync(process.argv[2] || "/dev/stdout", JSON.stringify(data));
