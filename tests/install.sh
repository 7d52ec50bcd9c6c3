#!/bin/sh
# make install into a scratch DESTDIR, then what it installed: the layout, the systemd unit
# (systemd-analyze verify), the man page (man -l, no warnings), the example configurations
# (mptun check: exit 0) and a few bad ones (exit 2, one line naming FILE:LINE), then make
# uninstall. Seconds; no root needed. Usage: tests/install.sh [BUILD_DIR]
cd "$(dirname "$0")/.." || exit 1
B=${1:-build}
PASS=0
FAIL=0
T=$(mktemp -d /tmp/mptun-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
D=$T/dest
PREFIX=/usr/local

check() {	# check NAME STATUS DETAIL
	if [ "$2" -eq 0 ]; then
		PASS=$((PASS + 1)); echo "PASS $1: $3"
	else
		FAIL=$((FAIL + 1)); echo "FAIL $1: $3"
	fi
}

make --no-print-directory -s B="$B" install DESTDIR="$D" PREFIX=$PREFIX >"$T/install.log" 2>&1
check make-install $? "make install DESTDIR=$D ($(find "$D" -type f | wc -l) files)"
MPTUN=$D$PREFIX/sbin/mptun
UNIT=$D$PREFIX/lib/systemd/system/mptun@.service
MAN=$D$PREFIX/share/man/man8/mptun.8
DOC=$D$PREFIX/share/doc/mptun
for f in "$MPTUN:755" "$UNIT:644" "$MAN:644" "$DOC/mptun.conf:644" "$DOC/mptun-server.conf:644"; do
	p=${f%:*}; want=${f##*:}
	mode=$(stat -c %a "$p" 2>/dev/null)
	[ "$mode" = "$want" ]
	check layout $? "${p#"$D"} mode ${mode:-missing} (want $want)"
done

# the unit: its ExecStart runs the installed binary on /etc/mptun/INSTANCE.conf; systemd's own
# verifier sees no mistake (run on a copy pointing at the binary in DESTDIR)
grep -qx "ExecStart=$PREFIX/sbin/mptun -c /etc/mptun/%i.conf" "$UNIT"
check unit-execstart $? "$(grep '^ExecStart=' "$UNIT")"
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$T/unit"
	sed "s|$PREFIX/sbin/mptun|$MPTUN|g" "$UNIT" >"$T/unit/mptun@.service"
	out=$(MANPATH=$D$PREFIX/share/man systemd-analyze verify "$T/unit/mptun@.service" 2>&1)
	rc=$?
	[ $rc -eq 0 ] && [ -z "$out" ]
	check unit-verify $? "systemd-analyze verify: exit $rc, ${out:-no complaint}"
else
	echo "SKIP unit-verify: no systemd-analyze (Debian package systemd)"
fi

if command -v man >/dev/null 2>&1; then
	out=$(MANWIDTH=80 man -l --warnings "$MAN" 2>&1 >"$T/man.txt")
	rc=$?
	[ $rc -eq 0 ] && [ -z "$out" ] && grep -q "CONFIGURATION FILE" "$T/man.txt"
	check man-page $? "man -l --warnings: exit $rc, $(wc -l <"$T/man.txt") lines, ${out:-no warning}"
else
	echo "SKIP man-page: no man (Debian package man-db)"
fi

# the examples: as shipped (their keys in /etc/mptun are not here: --no-keys), then with keys
# made here and their paths rewritten, key files checked
for ex in mptun.conf mptun-server.conf; do
	out=$("$MPTUN" check --no-keys -c "$DOC/$ex" 2>&1)
	rc=$?
	[ $rc -eq 0 ] && [ "$out" = "$DOC/$ex: ok (1 peer)" ]
	check "example-$ex" $? "check --no-keys: exit $rc, $out"
	sed "s|/etc/mptun/|$T/|g" "$DOC/$ex" >"$T/$ex"
	for k in $(sed -n "s|^KeyFile = $T/||p" "$T/$ex"); do "$MPTUN" genkey "$T/$k"; done
	out=$("$MPTUN" check -c "$T/$ex" 2>&1)
	rc=$?
	[ $rc -eq 0 ] && [ "$out" = "$T/$ex: ok (1 peer)" ]
	check "example-$ex-keys" $? "check with its key files made: exit $rc, $out"
done
out=$("$MPTUN" check -c "$DOC/mptun.conf" 2>&1)
[ $? -eq 2 ] && [ "$out" = "mptun: $DOC/mptun.conf:41: KeyFile /etc/mptun/office.key: No such file or directory" ]
check example-missing-key $? "check without --no-keys, no key in /etc/mptun: $out"
# the commented Metrics line, taken in
sed 's/^#Metrics = /Metrics = /' "$DOC/mptun.conf" >"$T/metrics.conf"
out=$("$MPTUN" check --no-keys -c "$T/metrics.conf" 2>&1)
rc=$?
[ $rc -eq 0 ] && grep -q '^Metrics = 127.0.0.1:9469$' "$T/metrics.conf"
check example-metrics $? "mptun.conf with its Metrics line uncommented: exit $rc, $out"

# bad files: exit 2, one line on stderr, naming FILE:LINE
bad() {	# bad NAME LINE SAYS [CMD...]: the file is $T/bad.conf
	_name=$1; _line=$2; _says=$3; shift 3
	[ $# -gt 0 ] || set -- "$MPTUN" check -c "$T/bad.conf"
	"$@" >"$T/out" 2>"$T/err"
	_rc=$?
	[ $_rc -eq 2 ] && [ ! -s "$T/out" ] && [ "$(wc -l <"$T/err")" -eq 1 ] &&
		grep -qF "mptun: $T/bad.conf:$_line: $_says" "$T/err"
	check "bad-$_name" $? "exit $_rc: $(cat "$T/err")"
}
GOOD_IFACE="[Interface]
Port = 5000
Address = 10.0.0.1
PeerAddress = 10.0.0.2"
printf '%s\nColour = blue\n[Peer]\nName = hq\nKeyFile = %s/hq.key\n' "$GOOD_IFACE" "$T" >"$T/bad.conf"
bad unknown-key 5 "unknown key 'Colour' in [Interface]"
printf '%s\n[Peer]\nName = a\nKeyFile = %s/hq.key\n[Peer]\nName = b\nKeyFile = %s/hq.key\n' \
	"$GOOD_IFACE" "$T" "$T" >"$T/bad.conf"
bad second-peer 8 "more than one [Peer]: a hub names its static key in [Interface] HubKeyFile"
bad second-peer-daemon 8 "more than one [Peer]" "$MPTUN" -c "$T/bad.conf"
printf '%s\n[Peer]\nName = a\nKeyFile = %s/open.key\n' "$GOOD_IFACE" "$T" >"$T/bad.conf"
"$MPTUN" genkey "$T/open.key" && chmod 644 "$T/open.key"
bad key-mode 7 "KeyFile $T/open.key: mode 0644 gives group or others access"
printf '%s\n[Peer]\nName = a\nKeyFile = %s/nokey\n' "$GOOD_IFACE" "$T" >"$T/bad.conf"
bad key-missing 7 "KeyFile $T/nokey: No such file or directory"
printf '%s\nMTU = 99999\n[Peer]\nName = a\nKeyFile = %s/hq.key\n' "$GOOD_IFACE" "$T" >"$T/bad.conf"
bad out-of-range 5 "MTU: bad MTU '99999'"
printf '%s\nMetrics = 9469\n[Peer]\nName = a\nKeyFile = %s/hq.key\n' "$GOOD_IFACE" "$T" >"$T/bad.conf"
bad metrics-address 5 "Metrics: bad address '9469' (ADDR:PORT, [ADDR]:PORT for IPv6)"
printf '%s\n[Peer]\nName = a\nKeyFile = %s/hq.key\nAllowedIPs = 10.0.0.0/24, 10.0.0.2\n' \
	"$GOOD_IFACE" "$T" >"$T/bad.conf"
bad overlap 8 "AllowedIPs: 10.0.0.2/32 overlaps 10.0.0.0/24 of peer a (line 8)"
"$MPTUN" -c "$DOC/mptun.conf" -p 5000 >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q "holds every option: give no other (-p given)" "$T/err"
check c-with-options $? "mptun -c FILE -p 5000: exit $rc, $(cat "$T/err")"

make --no-print-directory -s B="$B" uninstall DESTDIR="$D" PREFIX=$PREFIX >"$T/uninstall.log" 2>&1
left=$(find "$D" -type f | wc -l)
[ "$left" -eq 0 ]
check make-uninstall $? "make uninstall: $left files left"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
