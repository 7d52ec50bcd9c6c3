#!/usr/bin/env python3
"""QTRACE's path sampler (tests/netem/queue.sh, download part): every 100 ms, the time and, per
path of the daemon whose status socket is given, its capacity estimate, pacing rate (Mbit/s),
mode (s: start-up, p: probing), why start-up ended (n: not yet, f: flat, q: a queue) and the
estimate then, the estimate's drops and the smoothed RTT (ms), as
"est/pace/mode/ENDbps/drops/srtt" after the tunnel queue's backlog (packets), until killed.
Usage: trace-status.py SOCKET OUTFILE."""
import json
import socket
import sys
import time

with open(sys.argv[2], 'w') as out:
    while True:
        now = time.time()
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(0.5)
            s.connect(sys.argv[1])
            buf = b''
            while True:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
            s.close()
            st = json.loads(buf)
            paths = st['paths']
            q = st.get('queue', {})
            out.write('%.3f %s %s\n' % (now, q.get('backlog', '-'), ' '.join('%.1f/%.1f/%s/%s%.1f/%d/%.1f' % (
                p['capacity_bps'] / 1e6, p['pacing_bps'] / 1e6, p['capacity_mode'][0],
                p['startup_end'][0], p['startup_end_bps'] / 1e6, p['capacity_drops'],
                p['srtt_ms']) for p in paths)))
        except (OSError, ValueError, KeyError) as e:
            out.write('%.3f error %s\n' % (now, e))
        out.flush()
        time.sleep(0.1)
