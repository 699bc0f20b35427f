#!/usr/bin/env bash
# Runs the whole test suite under AddressSanitizer and ThreadSanitizer (issue 6).
#
#   scripts/sanitizers.sh [address|thread]...     (default: both)
#
# Each sanitizer builds in its own scratch folder (.build-asan, .build-tsan); on 2 cores each build
# takes several minutes. Extra arguments for `swift test` can be given in SWIFT_TEST_ARGS
# (e.g. SWIFT_TEST_ARGS="--filter VAEKitTests"). Logs: .build-asan/test.log, .build-tsan/test.log.
set -uo pipefail
cd "$(dirname "$0")/.."
SANITIZERS=("$@")
[ ${#SANITIZERS[@]} -eq 0 ] && SANITIZERS=(address thread)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
status=0
summary=()
for s in "${SANITIZERS[@]}"; do
    case $s in
        address) scratch=.build-asan ;;
        thread) scratch=.build-tsan ;;
        *) echo "unknown sanitizer $s (address or thread)" >&2; exit 2 ;;
    esac
    mkdir -p "$scratch"
    echo "== $s: building tests in $scratch"
    b0=$(date +%s)
    if ! swift build --build-tests --sanitize="$s" --scratch-path "$scratch" > "$scratch/build.log" 2>&1; then
        tail -20 "$scratch/build.log"
        summary+=("$s: BUILD FAILED (see $scratch/build.log)")
        status=1
        continue
    fi
    b1=$(date +%s)
    echo "== $s: running tests (build took $((b1 - b0)) s)"
    # shellcheck disable=SC2086
    swift test --skip-build --sanitize="$s" --scratch-path "$scratch" ${SWIFT_TEST_ARGS:-} > "$scratch/test.log" 2>&1
    rc=$?
    t1=$(date +%s)
    executed=$(grep -E "Executed [0-9]+ tests" "$scratch/test.log" | tail -1 | sed 's/^[[:space:]]*//')
    reports=$(grep -cE "ERROR: (AddressSanitizer|ThreadSanitizer)|WARNING: ThreadSanitizer" "$scratch/test.log")
    if [ $rc -eq 0 ] && [ "$reports" -eq 0 ]; then
        summary+=("$s: passed — $executed; build $((b1 - b0)) s, tests $((t1 - b1)) s")
    else
        grep -E -A12 "ERROR: (AddressSanitizer|ThreadSanitizer)|WARNING: ThreadSanitizer" "$scratch/test.log" | head -60
        grep -E "error:|failed" "$scratch/test.log" | head -20
        summary+=("$s: FAILED (exit $rc, $reports sanitizer reports) — $executed; build $((b1 - b0)) s, tests $((t1 - b1)) s; see $scratch/test.log")
        status=1
    fi
done
echo
printf '%s\n' "${summary[@]}"
exit $status
