// SPDX-License-Identifier: MIT
// PETra side by side: gridledger's native contract on its embedded ledger,
// and the same contract in Solidity (PETra.sol, compiled with solc-js) on a
// local Ethereum node (Hardhat Network, automine), driven by the same
// workloads in one run:
//   clearing latency  the case study's trades (scenarios/petra-microgrid.json,
//                     as gridledger's run traded them), one after the other:
//                     the DSO records both assets and the funds, then the
//                     poster's postOffer and the other side's acceptOffer,
//                     each waited for; clearing time = postOffer sent to
//                     acceptOffer's receipt (gridledger: petra-bench's
//                     sequential trades, the same two waits)
//   throughput        N trades between fresh addresses, 2 kW over four
//                     intervals at 0.25 per kWh: all postOffer sent at
//                     once, then all acceptOffer; accepted trades per second
//                     (gridledger: petra-bench --trades N)
//
// usage: node run.mjs [--trades N] [--latency M] [--build DIR] [--json F]
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import solc from "solc";
import { ethers } from "ethers";

const here = dirname(fileURLToPath(import.meta.url));
const source = resolve(here, "../..");
const require = createRequire(import.meta.url);

function option(name, dflt) {
    const i = process.argv.indexOf(name);
    return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}
const N = Number(option("--trades", "2000"));
const M = Number(option("--latency", "500"));
const build = resolve(option("--build", join(source, "build")));
const jsonOut = option("--json", null);
if (!(N > 0) || !(M > 0)) {
    console.error("usage: node run.mjs [--trades N] [--latency M] [--build DIR] [--json F]");
    process.exit(2);
}
const log = (msg) => process.stderr.write(`bench-peers: ${msg}\n`);

// ---- statistics -------------------------------------------------------------
function stats(ms) {
    const s = [...ms].sort((a, b) => a - b);
    const n = s.length;
    const mean = s.reduce((a, b) => a + b, 0) / n;
    const pct = (p) => s[Math.ceil(p * n) - 1];
    return { n, mean, p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), min: s[0], max: s[n - 1] };
}

// ---- gridledger ------------------------------------------------------------
const work = mkdtempSync(join(tmpdir(), "gl-peers-"));
log("gridledger: the case study (scenarios/petra-microgrid.json)");
execFileSync(join(build, "gridledger"), ["run", join(source, "scenarios/petra-microgrid.json"),
    "--out", join(work, "case"), "--quiet"], { stdio: "inherit" });
const caseResults = JSON.parse(readFileSync(join(work, "case/results.json"), "utf8"));
const caseTrades = readFileSync(join(work, "case/trades.csv"), "utf8").trim().split("\n").slice(1)
    .map((line) => {
        const f = line.split(",");
        return { kind: f[1], interval: Number(f[2]), power: Number(f[4]),
            price: Math.round(Number(f[6]) * 1e6) };
    });
log(`gridledger: petra-bench --trades ${N} --latency ${M}`);
execFileSync(join(build, "petra-bench"), ["--trades", String(N), "--latency", String(M), "--json",
    join(work, "gl.json")], { stdio: ["ignore", "ignore", "inherit"] });
const gl = JSON.parse(readFileSync(join(work, "gl.json"), "utf8"));

// ---- Ethereum ----------------------------------------------------------------
log("solc: compiling PETra.sol");
const input = {
    language: "Solidity",
    sources: { "PETra.sol": { content: readFileSync(join(here, "PETra.sol"), "utf8") } },
    settings: { optimizer: { enabled: true, runs: 200 },
        outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
};
const compiled = JSON.parse(solc.compile(JSON.stringify(input)));
for (const e of compiled.errors || []) {
    if (e.severity === "error") {
        console.error(e.formattedMessage);
        process.exit(1);
    }
}
const artifact = compiled.contracts["PETra.sol"].PETra;
const iface = new ethers.Interface(artifact.abi);

async function freePort() {
    return new Promise((ok, bad) => {
        const s = createServer();
        s.on("error", bad);
        s.listen(0, "127.0.0.1", () => {
            const { port } = s.address();
            s.close(() => ok(port));
        });
    });
}

const port = await freePort();
log(`hardhat node on 127.0.0.1:${port} (solc ${solc.version()})`);
const hardhat = spawn(process.execPath, [require.resolve("hardhat/internal/cli/cli.js"), "node",
    "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd: here, stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" },
});
let nodeOut = "";
await new Promise((ok, bad) => {
    const timer = setTimeout(() => bad(new Error(`hardhat node did not start:\n${nodeOut}`)), 60000);
    const watch = (d) => {
        nodeOut += d;
        if (nodeOut.includes("Started HTTP")) {
            clearTimeout(timer);
            ok();
        }
    };
    hardhat.stdout.on("data", watch);
    hardhat.stderr.on("data", watch);
    hardhat.on("exit", (code) => bad(new Error(`hardhat node exited ${code}:\n${nodeOut}`)));
});
hardhat.stdout.removeAllListeners("data");
hardhat.stdout.resume();

let eth;
try {
    eth = await ethereum();
} finally {
    hardhat.kill("SIGTERM");
    rmSync(work, { recursive: true, force: true });
}

async function ethereum() {
    const provider = new ethers.JsonRpcProvider(`http://127.0.0.1:${port}`, 31337,
        { staticNetwork: true, batchMaxCount: 1 });
    const rpc = (m, p) => provider.send(m, p);
    // The node's first (unlocked) development account is the DSO.
    const accounts = await rpc("eth_accounts", []);
    const dsoAddr = accounts[0];
    let dsoNonce = Number(await rpc("eth_getTransactionCount", [dsoAddr, "latest"]));

    async function receipt(hash) {
        for (;;) {
            const r = await rpc("eth_getTransactionReceipt", [hash]);
            if (r) {
                if (r.status !== "0x1") throw new Error(`transaction ${hash} reverted`);
                return r;
            }
            await new Promise((ok) => setTimeout(ok, 1));
        }
    }
    // The DSO's transactions go through the node's unlocked account.
    function dsoSend(data, to) {
        const tx = { from: dsoAddr, data, gas: "0x1c9c380", gasPrice: "0x0",
            nonce: ethers.toQuantity(dsoNonce++) };
        if (to) tx.to = to;
        return rpc("eth_sendTransaction", [tx]);
    }
    // Anonymous addresses: fresh keys, signed here, no fee.
    async function anonSigned(wallet, to, data, nonce) {
        return wallet.signTransaction({ to, data, nonce, gasLimit: 3000000, gasPrice: 0,
            chainId: 31337, type: 0 });
    }
    const sendRaw = (raw) => rpc("eth_sendRawTransaction", [raw]);
    const logOf = (r, name) => r.logs.map((l) => {
        try { return iface.parseLog(l); } catch { return null; }
    }).find((l) => l && l.name === name);

    const deploy = await receipt(await dsoSend(artifact.evm.bytecode.object.startsWith("0x")
        ? artifact.evm.bytecode.object : `0x${artifact.evm.bytecode.object}`));
    const at = deploy.contractAddress;
    const call = (fn, args) => iface.encodeFunctionData(fn, args);

    async function withdraw(seller, buyer, power, start, end, funds) {
        const h = [];
        h.push(await dsoSend(call("addEnergyAsset", [seller.address, power, start, end]), at));
        h.push(await dsoSend(call("addEnergyAsset", [buyer.address, -power, start, end]), at));
        h.push(await dsoSend(call("addFinancialBalance", [buyer.address, funds]), at));
        const r = await Promise.all(h.map(receipt));
        return [logOf(r[0], "AssetAdded").args.asset, logOf(r[1], "AssetAdded").args.asset];
    }

    // Clearing latency: the case study's trades, one after the other.
    log(`ethereum: ${caseTrades.length} case-study trades, one after the other`);
    const clear = [];
    for (const t of caseTrades) {
        const seller = ethers.Wallet.createRandom();
        const buyer = ethers.Wallet.createRandom();
        const [prod, cons] = await withdraw(seller, buyer, t.power, t.interval, t.interval,
            10000000);
        const [poster, posted, taker, taken] = t.kind === "ask"
            ? [seller, prod, buyer, cons] : [buyer, cons, seller, prod];
        const rawPost = await anonSigned(poster, at, call("postOffer", [posted, t.price]), 0);
        const t0 = performance.now();
        const pr = await receipt(await sendRaw(rawPost));
        const offer = logOf(pr, "OfferPosted").args.offer;
        const rawAcc = await anonSigned(taker, at, call("acceptOffer", [offer, taken]), 0);
        await receipt(await sendRaw(rawAcc));
        clear.push(performance.now() - t0);
    }

    // Throughput: N trades, every postOffer at once, then every acceptOffer.
    log(`ethereum: ${N} trades, all posts then all accepts`);
    const trades = [];
    const hashes = [];
    // The DSO's own transactions go in nonce order: an automining node
    // queues none.
    for (let i = 0; i < N; i++) {
        const seller = ethers.Wallet.createRandom();
        const buyer = ethers.Wallet.createRandom();
        trades.push({ seller, buyer });
        hashes.push(await dsoSend(call("addEnergyAsset", [seller.address, 2000, 10, 13]), at));
        hashes.push(await dsoSend(call("addEnergyAsset", [buyer.address, -2000, 10, 13]), at));
        hashes.push(await dsoSend(call("addFinancialBalance", [buyer.address, 10000000]), at));
    }
    const adds = await Promise.all(hashes.map(receipt));
    for (let i = 0; i < N; i++) {
        trades[i].prod = logOf(adds[3 * i], "AssetAdded").args.asset;
        trades[i].cons = logOf(adds[3 * i + 1], "AssetAdded").args.asset;
    }
    const posts = await Promise.all(trades.map((t) =>
        anonSigned(t.seller, at, call("postOffer", [t.prod, 250000]), 0)));
    let t0 = performance.now();
    const postReceipts = await Promise.all((await Promise.all(posts.map(sendRaw))).map(receipt));
    const postS = (performance.now() - t0) / 1000;
    // Signed before the clock starts, as petra-bench does; the buyer's first
    // transaction, so nonce 0.
    const accepts = await Promise.all(trades.map((t, i) => anonSigned(t.buyer, at,
        call("acceptOffer", [logOf(postReceipts[i], "OfferPosted").args.offer, t.cons]), 0)));
    t0 = performance.now();
    await Promise.all((await Promise.all(accepts.map(sendRaw))).map(receipt));
    const acceptS = (performance.now() - t0) / 1000;
    const blocks = Number(await rpc("eth_blockNumber", []));
    return { clear: stats(clear), postPerS: N / postS, acceptPerS: N / acceptS,
        fullPerS: N / (postS + acceptS), blocks };
}

// ---- the comparison ---------------------------------------------------------
const f = (v, d = 2) => v.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
const glClear = gl.latency;
const rows = [
    ["clearing time p50 (ms)", glClear.p50_ms, eth.clear.p50],
    ["clearing time p90 (ms)", glClear.p90_ms, eth.clear.p90],
    ["clearing time mean (ms)", glClear.mean_ms, eth.clear.mean],
    ["postOffer per second", gl.post_per_s, eth.postPerS],
    ["accepted trades per second", gl.accept_per_s, eth.acceptPerS],
    ["full trades per second (post + accept)", gl.full_trades_per_s, eth.fullPerS],
];
console.log(`\nPETra side by side (${N} trades for throughput; clearing: gridledger ` +
    `${glClear.n} sequential trades, Ethereum the case study's ${eth.clear.n})`);
console.log(`${"".padEnd(40)} ${"gridledger".padStart(12)} ${"Ethereum".padStart(12)} ${"ratio".padStart(10)}`);
for (const [name, a, b] of rows) {
    const lower = name.startsWith("clearing");
    const ratio = lower ? b / a : a / b; // how many times better gridledger is
    console.log(`${name.padEnd(40)} ${f(a).padStart(12)} ${f(b).padStart(12)} ${(f(ratio, 1) + "x").padStart(10)}`);
}
console.log(`case study on gridledger (agents interleaved): clearing median ` +
    `${f(caseResults.clearing.median)} ms, p90 ${f(caseResults.clearing.p90)} ms over ` +
    `${caseResults.clearing.n} trades`);
console.log(`Ethereum: Hardhat Network (automine, one block per transaction; ${eth.blocks} blocks), ` +
    `solc ${solc.version()}, ethers ${ethers.version}`);
if (jsonOut) {
    writeFileSync(jsonOut, JSON.stringify({ gridledger: gl, case_study: caseResults.clearing,
        ethereum: eth }, null, 1));
}
