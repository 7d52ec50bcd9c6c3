"""Python's http.server with a chosen TCP congestion control: httpcc.py PORT CC DIRECTORY.

The download part of tests/netem/queue.sh serves its file with `python3 -m http.server`, whose
TCP is the host's default (here BBR). With QCC=cubic (or reno) it serves it with this instead, so
that the tunnel can be compared with MPTCP and the single uplink behind a server on Linux's usual
default: the listening socket's TCP_CONGESTION is inherited by every connection it accepts (and,
through mptcpize, by every MPTCP subflow)."""
import functools
import http.server
import socket
import sys


class Server(http.server.ThreadingHTTPServer):
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, CC)
        super().server_bind()


if len(sys.argv) != 4:
    sys.exit("usage: httpcc.py PORT CC DIRECTORY")
CC = sys.argv[2].encode()
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[3])
Server(("0.0.0.0", int(sys.argv[1])), handler).serve_forever()
