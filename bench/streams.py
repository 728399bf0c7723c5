#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Open many event streams on a fresh node, then time /healthz, /readyz and
/v1/tip (issue 15, finding 8; figures in docs/security.md ("Event streams cannot lock the node out")).

    python3 bench/streams.py build/gridledger 1010
    python3 bench/streams.py build/gridledger 60 --max-connections 50

Streams come 16 per source address (127.0.X.Y), as from many clients.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, count, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    tmp = tempfile.mkdtemp(prefix="gl-streams-")
    ledger, ready = os.path.join(tmp, "L"), os.path.join(tmp, "ready")
    subprocess.run([binary, "init", ledger], check=True, capture_output=True)
    log = open(os.path.join(tmp, "node.log"), "w")
    node = subprocess.Popen(
        [binary, "node", ledger, "--listen", "127.0.0.1:0", "--ready-file",
         ready, "--no-access-log"] + extra, stderr=log)
    try:
        for _ in range(600):
            if os.path.exists(ready) and os.path.getsize(ready) > 0:
                break
            time.sleep(0.01)
        port = int(open(ready).read().strip().rsplit(":", 1)[1])
        socks, started, refused = [], 0, {}
        t0 = time.time()
        for i in range(count):
            src = "127.0.%d.%d" % (1 + i // (16 * 250), 2 + (i // 16) % 250)
            s = socket.socket()
            s.bind((src, 0))
            s.settimeout(3)
            try:
                s.connect(("127.0.0.1", port))
                s.sendall(b"GET /v1/events HTTP/1.1\r\nHost: t\r\n\r\n")
                line = s.recv(4096).split(b"\r\n")[0].decode()
                if " 200 " in line:
                    started += 1
                    socks.append(s)
                else:
                    refused[line] = refused.get(line, 0) + 1
                    s.close()
            except OSError as e:
                what = "no answer (%s)" % type(e).__name__
                refused[what] = refused.get(what, 0) + 1
                socks.append(s)
        print("%d streams asked in %.1f s: %d started, refused: %s" %
              (count, time.time() - t0, started, refused or "none"))
        for path in ["/healthz", "/readyz", "/v1/tip"]:
            s = socket.socket()
            s.settimeout(5)
            t = time.time()
            try:
                s.connect(("127.0.0.1", port))
                s.sendall(("GET %s HTTP/1.1\r\nHost: t\r\nConnection: close"
                           "\r\n\r\n" % path).encode())
                line = s.recv(4096).split(b"\r\n")[0].decode()
                print("%s: %s in %.0f ms" % (path, line,
                                             (time.time() - t) * 1000))
            except OSError as e:
                print("%s: no answer within 5 s (%s)" %
                      (path, type(e).__name__))
            s.close()
        for s in socks:
            s.close()
    finally:
        node.terminate()
        node.wait()
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
