#!/bin/sh
# How the daemon keeps its secrets and its privileges (issue 10): a -k secret gone from
# /proc/PID/cmdline once read, --secret-file and MPTUN_SECRET (gone from /proc/PID/environ),
# the warning that a key file is the strong form, key files refused when group or others can
# read them or when they hold a password, no-new-privs, inherited descriptors closed, and the
# status socket's mode, owner and group (--status-group).
# Usage: tests/netns/secrets.sh [BUILD_DIR]   (root; skips with a reason otherwise)
cd "$(dirname "$0")/../.." || exit 1
B=${1:-build}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
MPTUN=$B/mptun
. tests/netns/lib.sh

need_root_and_tools ping stat getent
[ -x "$MPTUN" ] || { echo "FAIL build: $MPTUN missing"; exit 1; }
ns_new C msc; ns_new S mss
ip link add sc0 netns "$C" type veth peer name ss0 netns "$S"
ip -n "$C" addr add 10.97.0.1/24 dev sc0
ip -n "$S" addr add 10.97.0.2/24 dev ss0
ip -n "$C" link set sc0 up
ip -n "$S" link set ss0 up
PORT=5300
SECRET="horse-battery-staple-$SFX"
SLOG=$TMP/server.log

ping_ok() { ip netns exec "$C" ping -c 1 -W 1 10.98.0.2 >/dev/null 2>&1; }
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
# the secret in a process's command line or environment (NUL-separated)
shows() { [ -r "/proc/$1/$2" ] && tr '\0' '\n' <"/proc/$1/$2" | grep -qF "$SECRET"; }
start_client() {	# start_client LOG [ENV=VALUE...] -- KEY ARGS...: sets CPID
	_log=$1; shift
	_env=""
	while [ "$1" != -- ]; do _env="$_env $1"; shift; done
	shift
	# shellcheck disable=SC2086
	ns_bg "$C" "$_log" env $_env "$MPTUN" -i ms0 -p $PORT -v 10.98.0.1 -t 10.98.0.2 \
		-r 10.97.0.2 "$@"
	CPID=$LAST_PID
}

# ---- a server with -k, an inherited descriptor (7) and a status socket; a client with -k
echo "inherited" >"$TMP/inherited"
# shellcheck disable=SC2016 # the inner shell expands "$@" and "$0"
ns_bg "$S" "$SLOG" sh -c 'exec "$@" 7<"$0"' "$TMP/inherited" "$MPTUN" -i ms0 -p $PORT \
	-v 10.98.0.2 -t 10.98.0.1 -k "$SECRET" --status "$TMP/s.sock" --user nobody
SPID=$LAST_PID
wait_for "[ -S '$TMP/s.sock' ]" 5
start_client "$TMP/client.log" -- -k "$SECRET"
wait_for ping_ok 8; rc=$?
check k-tunnel $rc "client and server with the same -k: ping $([ $rc -eq 0 ] && echo answered || echo lost)"

shows "$SPID" cmdline; s=$?
shows "$CPID" cmdline; c=$?
[ $s -ne 0 ] && [ $c -ne 0 ]
check k-cmdline $? "the -k secret in /proc/PID/cmdline: server $([ $s -eq 0 ] && echo shown || echo absent), client $([ $c -eq 0 ] && echo shown || echo absent)"
n=$(grep -c 'key file (-K' "$SLOG")
check k-warning "$([ "$n" = 1 ]; echo $?)" "$n warning line(s) that a key file is the strong form: $(grep 'key file (-K' "$SLOG" | head -1)"
nnp=$(awk '/^NoNewPrivs/ {print $2}' "/proc/$SPID/status")
check no-new-privs "$([ "$nnp" = 1 ]; echo $?)" "server NoNewPrivs: ${nnp:-?}"
rc=1
for f in "/proc/$SPID/fd"/*; do [ "$(readlink "$f")" = "$TMP/inherited" ] && rc=0; done
check inherited-fd "$([ $rc -ne 0 ]; echo $?)" "descriptor 7 inherited from the parent: $([ $rc -eq 0 ] && echo still open || echo closed)"
m=$(stat -c '%a %u %g' "$TMP/s.sock")
check status-mode "$([ "$m" = "660 0 0" ]; echo $?)" "status socket (--user nobody, no --status-group): mode, uid, gid $m (want 660 0 0)"
stop "$CPID"

# ---- the client with --secret-file, then with MPTUN_SECRET
printf '%s\n' "$SECRET" >"$TMP/secret"
chmod 600 "$TMP/secret"
start_client "$TMP/client2.log" -- --secret-file "$TMP/secret"
wait_for ping_ok 8; rc=$?
check secret-file $rc "client with --secret-file (the server has -k): ping $([ $rc -eq 0 ] && echo answered || echo lost)"
stop "$CPID"
start_client "$TMP/client3.log" MPTUN_SECRET="$SECRET" --
wait_for ping_ok 8; rc=$?
shows "$CPID" environ; e=$?
[ $rc -eq 0 ] && [ $e -ne 0 ]
check secret-env $? "client with MPTUN_SECRET: ping $([ $rc -eq 0 ] && echo answered || echo lost); the secret in /proc/PID/environ: $([ $e -eq 0 ] && echo shown || { [ -d "/proc/$CPID" ] && echo absent || echo 'no process'; })"
stop "$CPID"
stop "$SPID"

# ---- --status-group: the socket is created 0660, owned by root, in that group
grp=adm
getent group $grp >/dev/null || grp=daemon
gid=$(getent group $grp | cut -d: -f3)
ns_bg "$S" "$TMP/sg.log" "$MPTUN" -i ms0 -p $PORT -v 10.98.0.2 -t 10.98.0.1 -k "$SECRET" \
	--status "$TMP/g.sock" --status-group $grp --user nobody
SPID=$LAST_PID
wait_for "[ -S '$TMP/g.sock' ]" 5
m=$(stat -c '%a %u %g' "$TMP/g.sock" 2>/dev/null)
check status-group "$([ "$m" = "660 0 $gid" ]; echo $?)" "--status-group $grp: mode, uid, gid ${m:-no socket} (want 660 0 $gid)"
stop "$SPID"

# ---- refused at start: one line, exit status 1
bad() {	# bad NAME WANT_TEXT ARGS...
	_name=$1; _text=$2; shift 2
	# a daemon that takes what it should refuse runs on: stopped after 5 s (status 124)
	timeout 5 ip netns exec "$C" "$MPTUN" -i msbad -p $PORT -v 10.98.1.1 -t 10.98.1.2 -r 10.97.0.2 "$@" \
		>"$TMP/bad.out" 2>"$TMP/bad.err"
	_rc=$?
	_lines=$(grep -vc 'key file (-K' "$TMP/bad.err")
	grep -q -- "$_text" "$TMP/bad.err" && [ "$_rc" -eq 1 ] && [ "$_lines" -eq 1 ]
	check "bad-$_name" $? "exit $_rc, $_lines line: $(grep -v 'key file (-K' "$TMP/bad.err" | tr '\n' ' ' | head -c 160)"
}
"$MPTUN" genkey "$TMP/key" >/dev/null
chmod 644 "$TMP/key"
bad key-mode "mode 0644.*chmod 600" -K "$TMP/key"
printf 'correct-horse-battery-staple-123' >"$TMP/pwkey"
chmod 600 "$TMP/pwkey"
bad key-password "text" -K "$TMP/pwkey"
chmod 644 "$TMP/secret"
bad secret-file-mode "mode 0644.*chmod 600" --secret-file "$TMP/secret"
bad status-group "no such group" -k "$SECRET" --status "$TMP/x.sock" --status-group "nosuchgroup$SFX"
finish
