#!/usr/bin/env bash
# Install the Debian packages listed in the given files (one per line, # comments) that are not installed
# yet. Used by .ci/run, scripts/lab-demo.sh and the benchmarks, so a fresh machine needs one command each.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=$(cat "$@" | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u | tr '\n' ' ')
missing=""
# dpkg-query prints nothing for a package it has never heard of: test each one for "installed".
for p in $packages; do dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing="$missing $p"; done
if [ -n "${missing// /}" ]; then
  echo "== installing host packages:$missing"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
