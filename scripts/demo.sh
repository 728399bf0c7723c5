#!/bin/sh
# SPDX-License-Identifier: MIT
# The main job behind `make demo`. Until the market day lands it is a ledger
# demonstration: a new ledger with the demo consortium, a few hundred signed
# transactions, queries and an offline proof, a full verification, and a
# benchmark summary with Hyperledger Caliper's metrics.
set -eu
bin=${1:-build/gridledger}
dir=${DEMO_DIR:-out/demo-ledger}

step() { printf '\n== %s\n' "$*"; }

rm -rf "$dir"
mkdir -p "$(dirname "$dir")"

step "gridledger init $dir"
"$bin" init "$dir"

step "three members act on the asset contract"
"$bin" tx "$dir" --as DERA1/operator asset create pv-feeder-632 "250 kW"
"$bin" tx "$dir" --as DERA1/operator asset transfer pv-feeder-632 DSO/operator
"$bin" tx "$dir" --as DSO/operator asset update pv-feeder-632 "curtailed to 180 kW"
step "a refused call: DERA2 may not touch the DSO's asset"
"$bin" tx "$dir" --as DERA2/operator asset update pv-feeder-632 "1 MW" || true

step "a few hundred more, signed by 20 distinct clients"
"$bin" bench "$dir" --workload create --tx 300 --clients 20 2>/dev/null | tail -4

step "query: the asset, its history, the latest block"
"$bin" query "$dir" get asset pv-feeder-632
"$bin" query "$dir" history asset pv-feeder-632
"$bin" query "$dir" tip

step "an inclusion proof, checked offline against the genesis orderer key"
txid=$("$bin" query "$dir" block 1 | sed -n 's/.*"id": "\([0-9a-f]*\)".*/\1/p' | head -1)
"$bin" query "$dir" proof "$txid" > "$dir.proof.json"
"$bin" check-proof "$dir.proof.json" --ledger "$dir"

step "gridledger verify: every block checked, the chain re-executed"
"$bin" verify "$dir"

step "benchmark (embedded, durable, signed; see docs/performance.md)"
"$bin" bench "$dir" --workload create --tx 20000 2>/dev/null
"$bin" bench "$dir" --workload create --tx 3000 --rate 1000 2>/dev/null
"$bin" bench "$dir" --workload read --tx 200000 2>/dev/null
step "power flow: the IEEE 13 node feeder (gridledger pf)"
"$bin" pf feeders/ieee13/ieee13.dss | head -25

printf '\nThe demo ledger is in %s; try: %s query %s --help\n' "$dir" "$bin" "$dir"
