#!/bin/sh
# make mutants: break each safety property of the engine on purpose, in a copy of the tree, and
# show that the unit tests fail on every such build. A mutant that survives (the tests still
# pass) fails the run: the property it breaks has no test that can fail. A mutant whose pattern
# is no longer found, or whose build fails, fails the run too: the list must follow the code.
# One line per mutant, then "N passed, N failed" (a pass is a mutant killed).
# Usage: scripts/mutants.sh   (from the top of the tree; needs git, perl, make, cc)
set -u
cd "$(dirname "$0")/.." || exit 1
work=$(mktemp -d /tmp/mptun-mutants.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/spec" "$work/res" "$work/lane0" || exit 1
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$work/lane0" || exit 1
n=0

# mutant NAME FILE PERL-SUBSTITUTION MATCHES [FIRST]: the substitution (over the whole file) must
# match MATCHES times. FIRST is the unit test binary that kills it as the list was last run:
# built and run alone first, it spares the mutant the other binaries' links and runs (half the
# phase's time); should it pass, every binary is built and run as for a mutant without one.
# Listed here, run below.
mutant() {
	n=$((n + 1))
	printf '%s\n%s\n%s\n%s\n' "$1" "$2" "$4" "${5:-}" > "$work/spec/$n"
	printf '%s' "$3" > "$work/spec/$n.pl"
}
# killed_by OUTPUT: the failed tests' names in cmocka's output
killed_by() {
	printf '%s\n' "$1" | awk '$1 == "[" && $2 == "FAILED" && $3 == "]" && NF == 4 {print $4}' | sort -u | tr '\n' ' '
}

# run_one K LANE: mutant K in the tree LANE; its line into res/K
run_one() {
	name=$(sed -n 1p "$work/spec/$1") rel=$(sed -n 2p "$work/spec/$1") want=$(sed -n 3p "$work/spec/$1")
	first=$(sed -n 4p "$work/spec/$1")
	tree=$work/$2 file=$work/$2/$rel
	cp "$file" "$tree.orig"
	count=$(CNT="$tree.count" perl -0pi -e "\$c = ($(cat "$work/spec/$1.pl")); END { open my \$f, '>', \$ENV{CNT}; print \$f (\$c || 0) }" "$file" && cat "$tree.count")
	if [ "$count" != "$want" ]; then
		echo "FAIL $name: the pattern matched ${count:-0} times in $rel (update scripts/mutants.sh)"
	elif [ -n "$first" ] && make -s -C "$tree" B=build/mut "build/mut/tests/$first" >"$tree.build.log" 2>&1 &&
		! out=$(cd "$tree" && "build/mut/tests/$first" </dev/null 2>&1); then
		killed=$(killed_by "$out")
		echo "PASS $name: killed by ${killed:-$first}"
	elif ! make -s -C "$tree" B=build/mut unit-bins >"$tree.build.log" 2>&1; then
		echo "FAIL $name: the mutant does not build:"; tail -5 "$tree.build.log"
	elif out=$(cd "$tree" && FIRST_FAIL=1 scripts/run-unit.sh build/mut/tests 2>&1); then
		echo "FAIL $name: SURVIVED, every unit test passes with it"
	else
		killed=$(killed_by "$out")
		echo "PASS $name: killed by ${killed:-a failing test binary}"
	fi > "$work/res/$1"
	cp "$tree.orig" "$file"
	touch "$file"
}

mutant learn-before-auth core/engine.c \
	's/(\n\tks = hs_open\(e, &h, dgram, len, now, &rc\);)/\n\tengine_remote_for(e, from, true, now);$1/g' 1 test_engine
mutant skip-replay-check core/handshake.c \
	's/if \(replay_check\(&cand\[k\]->replay, h->counter\) < 0\)/if (0 \&\& replay_check(\&cand[k]->replay, h->counter) < 0)/g' 1 test_engine
mutant old-key-after-grace core/handshake.c \
	's/now - e->cur\.born_ns < ENGINE_GRACE_NS/now - e->cur.born_ns < 100 * ENGINE_GRACE_NS/g' 1 test_engine
mutant init-equal-counter core/handshake.c \
	's/if \(hs\.counter > e->last_init_counter\)/if (hs.counter >= e->last_init_counter)/g' 1 test_engine
mutant nonce-reuse-at-rekey core/handshake.c \
	's/initiator \? keys->(initiator|responder)_tx : keys->(initiator|responder)_tx/((void)initiator, (void)keys, e->master)/g' 2 test_engine
mutant auth-fail-counted-as-ok core/handshake.c \
	's/(\t\t\t      len - WIRE_HDR_LEN, e->rxbuf\)) == 0\)/$1 <= 0)/g' 1 test_engine
# the handshake's resilience (issue 10, findings 1, 4, 6)
mutant no-answer-for-copies core/handshake.c \
	's/e->resp_copies < HS_COPIES_MAX\)/e->resp_copies < HS_COPIES_MAX \&\& 0)/g' 1 test_engine
mutant next-replaces-current core/handshake.c \
	's/\tif \(!e->cur\.live\)\n\t\ths_promote\(e, &e->next, now\);/\ths_promote(e, \&e->next, now);/g' 1 test_engine
mutant no-stale-answer core/handshake.c \
	's/if \(bucket_take\(&e->stale_bucket, now,/if (0 \&\& bucket_take(\&e->stale_bucket, now,/g' 1 test_engine
# the hub (issue 12): junk stops at mac1; copies and replays cost no X25519
mutant hub-no-mac1 core/hub.c \
	's/if \(!session_init_mac1_ok\(h->mac1_key, dgram, len\)\)/if (0)/g' 1 test_hub
mutant hub-no-cache core/hub.c \
	's/if \(h->cache\[i\]\.slot != NO_PEER &&/if (0 \&\& h->cache[i].slot != NO_PEER \&\&/g' 1 test_hub
mutant fq-plain-hash core/fq.c \
	's/uint32_t fi = flow_of\(q, flow_hash\), s;/uint32_t fi = (flow_of(q, flow_hash), flow_hash % q->nbuckets), s;/g' 1 test_fq
mutant probe-a-quarter core/capacity.c \
	's/return queue_step\(c, CAP_PROBE_QUEUE_NS\);/return c->est_bps \/ 4;/g' 1 test_capacity
# probe again at once only when the probe before found capacity (test_reprobe_on_growth)
mutant reprobe-without-growth core/capacity.c \
	's/c->probe_goal_bps = c->est_bps \+ \(half > least \? half : least\);/c->probe_goal_bps = c->est_bps + 0 * (half > least ? half : least);/g' 1 test_capacity
mutant no-reprobe core/capacity.c \
	's/c->est_bps >= c->probe_goal_bps\)/0 \&\& c->est_bps >= c->probe_goal_bps)/g' 1 test_capacity
mutant queued-sample-ignored core/capacity.c \
	's/\} else if \(bps > c->est_bps\) \{/} else if (0 \&\& bps > c->est_bps) {/g' 1 test_capacity
# a queue on a path that took all it was given ends no start-up (test_idle_queue_keeps_startup)
mutant idle-queue-ends-startup core/capacity.c \
	's/\(c->mode == CAP_STARTUP && \(pushed \|\| !app_limited\)\)/(c->mode == CAP_STARTUP)/g' 1 test_capacity
mutant no-cruise-drain core/capacity.c \
	's/else if \(c->settle_qdelay_ns > CAP_DRAIN_QDELAY_NS\) \{/else if (0 \&\& c->settle_qdelay_ns > CAP_DRAIN_QDELAY_NS) {/g' 1 test_capacity
mutant settle-on-jitter core/capacity.c \
	's/if \(qdelay_ns < c->round_min_qdelay_ns\)/if (1 || qdelay_ns < c->round_min_qdelay_ns)/g' 1 test_capacity
mutant settle-unbounded core/capacity.c \
	's/rate = c->est_bps - \(step < most \? step : most\);/rate = c->est_bps - step + 0 * most;/g' 1 test_capacity
mutant no-young-probing core/path.h \
	's/PATH_PROBE_YOUNG_NS : PATH_PROBE_NS;/PATH_PROBE_NS : PATH_PROBE_NS;/g' 1 test_engine
mutant target-one-way core/sendq.c \
	's/if \(hi != 0 && t < 2 \* hi\)\n\t\tt = 2 \* hi;/if (hi != 0 \&\& t < hi)\n\t\tt = hi;/g' 1 test_sendq
mutant idle-peer-buffers core/engine.c \
	's/if \(cfg->role == ENGINE_CLIENT && engine_activate\(e\) < 0\)/if (engine_activate(e) < 0)/g' 1 test_hub
mutant learn-from-old-datagram core/engine.c \
	's/newest = ks == &e->cur && \(!rx->counter_seen \|\| h\.counter > rx->counter_top\);/newest = true;/g' 1 test_engine
mutant new-address-up-at-once core/engine.c \
	's/init_remote\(e, j, from, false, now\);/init_remote(e, j, from, true, now);/g' 1 test_engine
mutant weighted-draws-unanswered sched/weighted.c \
	's/draw\(w->remote_count, v->nremote, answered_remotes\(v\), v->rng\)/draw(w->remote_count, v->nremote, (uint32_t)((1ull << v->nremote) - 1), v->rng) + 0 * (int)answered_remotes(v)/g' 1 test_engine
mutant probe-quiet-address core/engine.c \
	's/bool quiet = e->cfg\.role == ENGINE_SERVER &&/bool quiet = 0 \&\& e->cfg.role == ENGINE_SERVER \&\&/g' 1 test_engine
# the tunnel's own queue (issue 11)
mutant global-order core/engine.c \
	's/return known && gap <= UINT16_MAX \? \(uint16_t\)gap : 0;/return 1 + 0 * known * (int)gap;/g' 1 test_sendq
mutant no-sparse-first core/fq.c \
	's/if \(q->new_flows\.head != NONE\)\n(\t+)l = &q->new_flows;\n(\t+)else if \(q->old_flows\.head != NONE\)\n(\t+)l = &q->old_flows;/if (q->old_flows.head != NONE)\n$1l = \&q->old_flows;\n$2else if (q->new_flows.head != NONE)\n$3l = \&q->new_flows;/g' 1 test_fq
mutant queue-drops-capacity core/capacity.c \
	's/pushed && bps < c->est_bps/bps < c->est_bps + 0 * pushed/g' 2 test_capacity
mutant pacer-unpaced core/sendq.c \
	's/at = pacer_next_ns\(&e->paths\[pick\]\.pacer, len \+ WIRE_OVERHEAD\);/at = 0 * pacer_next_ns(\&e->paths[pick].pacer, len + WIRE_OVERHEAD);/g' 1 test_sendq
mutant stall-from-last-feedback core/path.c \
	's/uint64_t from = p->elicit_since_ns > p->last_fb_ns \? p->elicit_since_ns : p->last_fb_ns;/uint64_t from = p->last_fb_ns + 0 * p->elicit_since_ns;/g' 1 test_sched
mutant target-no-delay-floor core/sendq.c \
	's/if \(hi != 0 && t < 2 \* hi\)\n(\t+)t = 2 \* hi;/if (hi != 0 \&\& t < 2 * hi)\n$1t = t + 0 * hi;/g' 1 test_sendq
# a path whose capacity fell: its estimate takes the rate a queued span shows; what it holds is
# sent again elsewhere
mutant queued-span-stepped core/capacity.c \
	's/c->est_bps = bps > step \|\| queued_through \? bps : step;/c->est_bps = bps > step || (queued_through \&\& 0) ? bps : step;/g' 1 test_capacity
mutant no-backlog-rescue core/engine.c \
	's/else if \(path_backlogged\(p\) &&/else if (0 \&\& path_backlogged(p) \&\&/g' 1 test_sendq
mutant backlog-copies-anywhere core/engine.c \
	's/k != pidx && p->up && p->fwd_qdelay_ns <= CAP_QDELAY_NS &&/k != pidx \&\& p->up \&\&/g' 1 test_sendq

# the unmutated tree built once, copied (timestamps kept, so each mutant rebuilds only what its
# file touches), then two lanes, one mutant each at a time: the odd ones and the even ones
make -s -j2 -C "$work/lane0" B=build/mut unit-bins >"$work/build.log" 2>&1 ||
	{ echo "FAIL the unmutated tree does not build:"; tail -5 "$work/build.log"; exit 1; }
cp -a "$work/lane0" "$work/lane1" || exit 1
for lane in 0 1; do
	(k=$((lane + 1)); while [ "$k" -le "$n" ]; do run_one "$k" "lane$lane"; k=$((k + 2)); done) &
done
wait
pass=0
fail=0
k=1
while [ "$k" -le "$n" ]; do
	cat "$work/res/$k"
	if grep -q '^PASS' "$work/res/$k"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
	k=$((k + 1))
done
echo "mutants: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
