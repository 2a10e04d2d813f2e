#!/bin/bash
# Appends every public symbol the build reports as undeclared (RS0016) to its project's
# PublicAPI.Unshipped.txt, project by project, until the libraries build. The analyzer's own
# message carries the exact line to add. Removed symbols (RS0017) are listed at the end: they
# need a `*REMOVED*` line by hand (CONTRIBUTING.md, "Public API baseline").
set -euo pipefail
cd "$(dirname "$0")/.."
for round in 1 2 3 4 5; do
    log=$(dotnet build PolledNvme.sln -c Release --nologo -v:q 2>&1 || true)
    added=0
    while IFS=$'\t' read -r project symbol; do
        file="$(dirname "$project")/PublicAPI.Unshipped.txt"
        grep -qxF -- "$symbol" "$file" || { printf '%s\n' "$symbol" >> "$file"; added=$((added + 1)); }
    done < <(printf '%s\n' "$log" | sed -n "s/.*error RS0016: Symbol '\(.*\)' is not part of the declared public API.*\[\(.*\.csproj\)\]$/\2\t\1/p" | sort -u)
    [ "$added" -eq 0 ] && break
    echo "round $round: $added symbols added"
done
printf '%s\n' "$log" | grep -E "error RS0017" | sed 's/.*error RS0017: //' | sort -u || true
printf '%s\n' "$log" | grep -qE " error " && { printf '%s\n' "$log" | grep -E " error " | sort -u | head -20; exit 1; }
git status --short -- 'src/*/PublicAPI.*.txt'
