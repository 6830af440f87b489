#!/usr/bin/env bash
# Lint: every shell script of the project passes shellcheck (TAP output).
set -euo pipefail
cd "$(dirname "$0")/../.."

mapfile -t scripts < <(git ls-files --cached --others --exclude-standard 2>/dev/null | while read -r f; do
    [[ -f "$f" ]] || continue
    case "$f" in
        *.sh | *.bash | .ci/run | lab/lab) echo "$f" ;;
        *) head -n 1 "$f" 2>/dev/null | grep -qE '^#!.*(bash|/sh)' && echo "$f" ;;
    esac
done | sort -u)
echo "1..${#scripts[@]}"
i=0
for f in "${scripts[@]}"; do
    i=$((i + 1))
    if out=$(shellcheck -x "$f" 2>&1); then
        echo "ok $i - shellcheck $f"
    else
        echo "not ok $i - shellcheck $f"
        printf '%s\n' "$out" | sed 's/^/# /'
    fi
done
