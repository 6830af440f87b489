#!/usr/bin/env bash
# run.sh - run every unit test (cmocka, TAP output) and end-to-end test, then print
# one summary line "N passed, N failed, N skipped"; exits non-zero on any failure.
# Environment: BUILD (object dir), BIN (programs), SANITIZE (1: skip the slow lab tests).
set -euo pipefail

BUILD=${BUILD:-build/release}
BIN=${BIN:-bin}
SANITIZE=${SANITIZE:-0}
export BUILD BIN SANITIZE
ONLY=${ONLY:-} # a substring: run only the tests whose name contains it

passed=0
failed=0
skipped=0
failures=()
log_dir=$(mktemp -d "${TMPDIR:-/tmp}/harness-tests.XXXXXX")
trap 'rm -rf "$log_dir"' EXIT

# count_tap NAME FILE - add the TAP results in FILE to the totals.
count_tap() {
    local name=$1 file=$2 line
    local p=0 f=0 s=0
    while IFS= read -r line; do
        case "$line" in
            "ok "*"# SKIP"* | "not ok "*"# SKIP"*) s=$((s + 1)) ;;
            "ok "*) p=$((p + 1)) ;;
            "not ok "*) f=$((f + 1)); failures+=("$name: ${line#not ok }") ;;
        esac
    done <"$file"
    local plan
    plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$file" | head -n 1)
    if [[ -n "$plan" && $((p + f + s)) -lt $plan ]]; then
        failures+=("$name: planned $plan tests, ran $((p + f + s))")
        f=$((f + plan - p - f - s)) # a test that never ran did not pass
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
    printf '%-28s %4d passed %4d failed %4d skipped\n' "$name" "$p" "$f" "$s"
    if [[ $s -gt 0 ]]; then # say why, once per test program
        grep -m 1 '# SKIP' "$file" | sed 's/^.*# SKIP */    skipped: /'
    fi
}

# run_one NAME CMD... - run a test program whose output is TAP.
run_one() {
    local name=$1
    shift
    [[ -z "$ONLY" || "$name" == *"$ONLY"* ]] || return 0
    local out="$log_dir/$name.tap" rc=0
    CMOCKA_MESSAGE_OUTPUT=TAP "$@" >"$out" 2>&1 || rc=$?
    count_tap "$name" "$out"
    if [[ $rc -ne 0 ]] && ! grep -q '^not ok ' "$out"; then
        failed=$((failed + 1)) # died without reporting a failed case
        failures+=("$name: exited with status $rc")
    fi
    if [[ $rc -ne 0 ]] || grep -q '^not ok ' "$out"; then
        sed 's/^/    /' "$out" | grep -v '^    ok ' | head -n 40
    fi
}

for t in "$BUILD"/tests/*_test; do
    [[ -x "$t" ]] || continue
    run_one "$(basename "$t")" "$t"
done

for t in tests/e2e/*.sh; do
    [[ -f "$t" ]] || continue
    run_one "$(basename "$t" .sh)" bash "$t"
done

if [[ ${#failures[@]} -gt 0 ]]; then
    echo
    echo "failures:"
    printf '  %s\n' "${failures[@]}"
fi
echo
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
