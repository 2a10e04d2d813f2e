#!/bin/sh
# Regenerates tests/data/fio-3.33-reference.json: the json+ report of fio 3.33 (Debian 12's) for
# tests/data/fio-reference.fio (null engine: no file, no device). The suite runs the same job
# file with pnvme and compares the structure of both reports key by key (FioJsonShapeTests).
# usage: scripts/fio-reference-json.sh   (installs fio with apt-get when it is missing)
set -eu
ROOT=$(dirname "$(readlink -f "$0")")/..
if ! command -v fio >/dev/null 2>&1; then
    apt-get install -y fio >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y fio >/dev/null; }
fi
version=$(fio --version)
[ "$version" = "fio-3.33" ] || echo "warning: $version, not fio-3.33 (Debian 12's); the reference is meant to be 3.33's" >&2
cd "$ROOT/tests/data"
fio --output-format=json+ --output=fio-3.33-reference.json fio-reference.fio
echo "wrote tests/data/fio-3.33-reference.json ($version)"
