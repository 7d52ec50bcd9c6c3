#!/usr/bin/env python3
"""QTRACE's uplink sampler (tests/netem/queue.sh, download part): every 50 ms, the time and the
bytes received so far on the client's uplinks c1..c4 (run inside the client's namespace), one
line each, until killed. Usage: trace-links.py OUTFILE. A shell loop of cat costs the testbed
several Mbit/s of CPU; this reads the same four counters from one process."""
import sys
import time

files = [open('/sys/class/net/c%d/statistics/rx_bytes' % i) for i in (1, 2, 3, 4)]
with open(sys.argv[1], 'w') as out:
    while True:
        now = time.time()
        counts = []
        for f in files:
            f.seek(0)
            counts.append(f.read().strip())
        out.write('%.3f %s\n' % (now, ' '.join(counts)))
        out.flush()
        time.sleep(0.05)
