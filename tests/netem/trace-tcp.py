#!/usr/bin/env python3
"""QTRACE's TCP sampler (tests/netem/queue.sh, download part): every 100 ms, the time and what
`ss -tin` says of the established TCP connections from the given local port (the HTTP server's
side of a GET: its window, RTT, pacing and delivery rates, BBR's state), one line per sample,
until killed. Run it in the server's namespace. Usage: trace-tcp.py PORT OUTFILE."""
import subprocess
import sys
import time

with open(sys.argv[2], 'w') as out:
    while True:
        now = time.time()
        r = subprocess.run(['ss', '-tinH', 'state', 'established', '( sport = :%s )' % sys.argv[1]],
                           capture_output=True, text=True)
        out.write('%.3f %s\n' % (now, ' '.join(r.stdout.split())))
        out.flush()
        time.sleep(0.1)
