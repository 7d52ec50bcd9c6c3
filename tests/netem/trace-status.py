#!/usr/bin/env python3
"""QTRACE's path sampler (tests/netem/queue.sh, download part): every 100 ms, the time and, per
path of the daemon whose status socket is given, its capacity estimate, pacing rate (Mbit/s)
and mode (s: start-up, p: probing), as "est/pace/mode", until killed.
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
            paths = json.loads(buf)['paths']
            out.write('%.3f %s\n' % (now, ' '.join('%.1f/%.1f/%s' % (
                p['capacity_bps'] / 1e6, p['pacing_bps'] / 1e6, p['capacity_mode'][0])
                for p in paths)))
        except (OSError, ValueError, KeyError) as e:
            out.write('%.3f error %s\n' % (now, e))
        out.flush()
        time.sleep(0.1)
