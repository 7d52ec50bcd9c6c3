#!/bin/sh
# timed.sh NAME COMMAND...: runs COMMAND, then prints "make test: NAME took N s" and exits with
# COMMAND's status. make test's phases, so that a log shows where its time went (its limit is 18
# minutes here).
name=$1
shift
t0=$(date +%s)
"$@"
rc=$?
echo "make test: $name took $(($(date +%s) - t0)) s"
exit $rc
