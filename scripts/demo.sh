#!/bin/sh
# SPDX-License-Identifier: MIT
# The main job behind `make demo`: the DER coordination market day of papers
# 001/002 on the IEEE 13 node feeder, then a look at what it left on the
# ledger: a verified chain, a curtailed bid and its history.
set -eu
bin=${1:-build/gridledger}
out=out/ieee13-der-market

step() { printf '\n== %s\n' "$*"; }

step "gridledger demo: 96 market intervals, 1,440 feeder solutions, every bid on the ledger"
"$bin" demo

step "gridledger verify $out/ledger: every block checked, the chain re-executed"
"$bin" verify "$out/ledger"

# A bid the DSO curtailed at midday, as the chain holds it, and its history:
# created by the aggregator, modified by the DSO (with the reason), then
# dispatched.
uid=$(awk -F, 'NR > 1 && $4 > 0 { print "dera1-rt-" $1; exit }' "$out/curtailment.csv")
if [ -n "$uid" ]; then
    step "the bid $uid on chain (the raw record is off chain, under its checksum)"
    "$bin" query "$out/ledger" get bids "bid/$uid"
    step "its history: created, curtailed by the DSO, dispatched"
    "$bin" query "$out/ledger" history bids "bid/$uid"
fi

step "the clearing of that interval, as the ISO recorded it"
interval=${uid##*-}
"$bin" query "$out/ledger" get bids "clear/rt/${interval:-48}" || true

printf '\nResults: %s (results.json, voltages.csv, bids.csv, clearing.csv,\n' "$out"
printf 'curtailment.csv). Open %s/report.html in a browser for the figures.\n' "$out"
printf 'Other scenarios: %s run scenarios/ieee13-two-deras.json\n' "$bin"
