#!/bin/sh
# core/ and sched/ are pure (DESIGN.md): no clock, no global randomness, no printing, no sockets.
set -u
pat='\b(clock_gettime|gettimeofday|time\(|rand\(|srand\(|random\(|printf\(|fprintf\(|puts\(|putchar\(|perror\(|socket\(|sendto\(|recvfrom\(|sendmsg\(|recvmsg\()'
hits=$(grep -rnE "$pat" core sched | grep -vE '^[^:]+:[0-9]+:\s*(/?\*|//)' || true)
cross=$(grep -rnE '#include\s+"(\.\./)?(daemon|sim)/' core sched || true)
if [ -n "$hits$cross" ]; then
	echo "purity: FAIL, core/ or sched/ breaks the design's rules:"
	echo "$hits$cross"
	exit 1
fi
echo "purity: PASS (no clock, rand, printing, socket or sim/daemon include under core/ and sched/)"
