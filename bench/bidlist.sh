#!/bin/sh
# SPDX-License-Identifier: MIT
# GET /v1/bids with large off-chain records (docs/performance.md, "The bid
# list and large records", issue 15 finding 9): a node on a free loopback
# port, one DER registered and qualified, NBIDS bids whose off-chain records
# are SIZE bytes each (one real entry, then padding entries), then
#   1. one GET /v1/bids (as the DSO: it reads every bid), timed;
#   2. PAR of them at once, each timed;
# and the node's peak resident memory (VmHWM) before and after. A record
# the node refuses (over its limit) is reported, and that bid is skipped.
# Nothing here asserts a timing.
# usage: sh bench/bidlist.sh [GRIDLEDGER] [SIZE] [NBIDS] [PAR]
set -eu
bin=${1:-build/gridledger}
size=${2:-262144}
nbids=${3:-5}
par=${4:-8}
tmp=$(mktemp -d)
node_pid=
cleanup() {
    [ -n "$node_pid" ] && kill -TERM "$node_pid" 2>/dev/null && wait "$node_pid" || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

"$bin" init "$tmp/L" >/dev/null
key=$("$bin" apikey create "$tmp/L" --name dso --identity DSO/operator |
    grep -o 'glk_[0-9a-f_]*' | head -1)
"$bin" node "$tmp/L" --listen 127.0.0.1:0 --ready-file "$tmp/url" \
    --no-access-log --log-level warn --max-body 16777216 &
node_pid=$!
n=0
while [ ! -s "$tmp/url" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
url=$(cat "$tmp/url")
tx() { "$bin" tx --node "$url" --keys "$tmp/L" --as "$@" >/dev/null; }
tx DERA1/operator registry register pv1 alice 675 abc pv 100 110
tx DSO/operator registry qualify pv1 100
hwm() { awk '/VmHWM/ {print $2 / 1024 " MiB"}' "/proc/$node_pid/status"; }

i=1
while [ "$i" -le "$nbids" ]; do
    # The record as mk_bid_encode writes it, padded with entries of DERs
    # that are not in the bid: the list must read the whole record to say
    # so.
    awk -v uid="b$i" -v iv="$i" -v size="$size" 'BEGIN {
        s = "{\"uid\":\"" uid "\",\"dera\":\"DERA1\",\"market\":\"rt\",\"interval\":" iv ",\"entries\":[{\"der\":\"pv1\",\"kw\":50.000000,\"price\":30.000000,\"cap\":60.000000}"
        e = ",{\"der\":\"pad\",\"kw\":1.000000,\"price\":30.000000,\"cap\":60.000000}"
        printf "%s", s
        for (k = int((size - length(s) - 2) / length(e)); k > 0; k--)
            printf "%s", e
        printf "]}"
    }' >"$tmp/rec$i"
    code=$(curl -s -o "$tmp/put$i" -w '%{http_code}' --data-binary "@$tmp/rec$i" \
        -H 'Content-Type: application/octet-stream' "$url/v1/offchain")
    if [ "$code" != 200 ]; then
        printf 'record %s (%s bytes): HTTP %s %s\n' "$i" \
            "$(wc -c <"$tmp/rec$i")" "$code" "$(cat "$tmp/put$i")"
        i=$((i + 1))
        continue
    fi
    sum=$(grep -o '"hash":"[0-9a-f]*"' "$tmp/put$i" | cut -d'"' -f4)
    tx DERA1/operator bids create "b$i" rt "$i" "$sum" pv1
    i=$((i + 1))
done
printf 'records of %s bytes, %s bids; node peak RSS before: %s\n' \
    "$(wc -c <"$tmp/rec1")" "$nbids" "$(hwm)"
get() {
    curl -s -o "$tmp/list$1" -w '%{http_code} %{time_total} s %{size_download} bytes\n' \
        -H "Authorization: Bearer $key" "$url/v1/bids?limit=20"
}
printf 'one request: %s' "$(get 0)"
echo "  $(grep -o '"record_error":"[^"]*"' "$tmp/list0" | head -1)"
printf 'peak RSS after one: %s\n' "$(hwm)"
k=1
while [ "$k" -le "$par" ]; do
    get "$k" >"$tmp/time$k" &
    k=$((k + 1))
done
wait_n=1
while [ "$wait_n" -le "$par" ]; do
    while [ ! -s "$tmp/time$wait_n" ]; do sleep 0.05; done
    wait_n=$((wait_n + 1))
done
echo "$par at once:"
cat "$tmp"/time[1-9]* | sed 's/^/  /'
printf 'peak RSS after %s at once: %s\n' "$par" "$(hwm)"
