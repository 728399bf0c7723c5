#!/bin/sh
# SPDX-License-Identifier: MIT
# The main job behind `make demo`. Until the market day lands it is a small
# ledger demonstration: init, a few hundred transactions, verify, a benchmark.
set -eu
bin=${1:-build/gridledger}
"$bin" --help
