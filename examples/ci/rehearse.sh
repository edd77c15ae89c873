#!/usr/bin/env bash
# Rehearse svcbind's CI pipeline on this machine, before pushing it: the svcbind steps of the
# recipes in examples/ci/ (plan on a pull request, apply on merge, drift on a schedule), in
# order, against `svcbind emulator` on 127.0.0.1, checking each exit code and each marker the
# recipes look for.
#
#   examples/ci/rehearse.sh [--keep] [DESIRED.yaml [SEED.yaml]]
#
# DESIRED.yaml is the file a pull request proposes (default: examples/bindings.yaml); SEED.yaml
# is the account as it is, in the same format with ids (default: examples/live.yaml; `svcbind
# export` writes one from a real account). svcbind is $SVCBIND, else `svcbind` on PATH. Needs
# git and curl; no credentials, no network beyond 127.0.0.1. --keep keeps the work directory
# (the comment, the saved plan, the apply report, the drift issue) and prints where it is.
#
# The steps:
#   1. pull request: validate; plan --changed-since main --out plan.json, the comment body
#      written to comment.md (`<!-- svcbind:plan -->`); main holds the account as it is;
#   2. merge: apply plan.json (the saved plan, not a new one; --force when the plan says it
#      needs it, as the `svcbind:force` label would; --wait until the new bindings are
#      active, as SVCBIND_WAIT asks), the report to apply.md
#      (`<!-- svcbind:apply -->`); applying the same plan again (a re-run of the merge job)
#      says it has already been applied and exits 0;
#   3. schedule: drift exits 0 (in sync);
#   4. someone deletes a binding by hand, through the emulator's API, in a prefix the plan
#      changed;
#   5. schedule: drift exits 2, the issue body written to issue.md (`<!-- svcbind:drift -->`);
#      applying the old plan now is refused as stale (exit 3), with the words the apply
#      recipes look for.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
keep=false
if [ "${1:-}" = --keep ]; then
  keep=true
  shift
fi
desired=$(realpath "${1:-$here/../bindings.yaml}")
seed=$(realpath "${2:-$here/../live.yaml}")
SVCBIND=${SVCBIND:-svcbind}
token=rehearsal-token

die() {
  printf 'rehearsal failed: %s\n' "$*" >&2
  exit 1
}
say() { printf '\n==> %s\n' "$*"; }

command -v "$SVCBIND" > /dev/null || die "no svcbind: set SVCBIND or put svcbind on PATH (cargo install --locked --path .)"
command -v git > /dev/null || die "no git on PATH"
command -v curl > /dev/null || die "no curl on PATH"

# Only what the rehearsal sets reaches svcbind.
unset CLOUDFLARE_ACCOUNT_ID CLOUDFLARE_API_KEY CLOUDFLARE_EMAIL SVCBIND_API_TOKEN_FILE \
  SVCBIND_CONFIG SVCBIND_EMULATE SVCBIND_FORMAT SVCBIND_MAX_DELETES

work=$(mktemp -d "${TMPDIR:-/tmp}/svcbind-rehearsal.XXXXXX")
emulator_pid=""
finish() {
  if [ -n "$emulator_pid" ]; then
    kill "$emulator_pid" 2> /dev/null || true
    wait "$emulator_pid" 2> /dev/null || true
  fi
  if [ "$keep" = true ]; then
    printf 'The rehearsal'"'"'s files are in %s\n' "$work"
  else
    rm -rf "$work"
  fi
}
trap finish EXIT

# Runs one svcbind step: `step CODE OUT -- COMMAND…` runs COMMAND with stdout to OUT and fails
# the rehearsal unless it exits CODE.
step() {
  local want=$1 out=$2
  shift 3
  say "${*/#$SVCBIND/svcbind}"
  local code=0
  "$@" > "$out" || code=$?
  if [ "$code" != "$want" ]; then
    cat "$out" >&2 || true
    die "\`${*/#$SVCBIND/svcbind}\` exited $code, not $want"
  fi
  echo "exit $code, as expected"
}

# Fails unless FILE's first line is MARKER.
marked() {
  local file=$1 marker=$2
  [ "$(head -n 1 "$file")" = "$marker" ] || die "$file does not start with $marker"
}

say "svcbind emulator, seeded from $seed"
coproc EMULATOR { exec "$SVCBIND" emulator --listen 127.0.0.1:0 --seed "$seed" --token "$token"; }
# shellcheck disable=SC2153 # coproc sets EMULATOR_PID
emulator_pid=$EMULATOR_PID
read -r line <&"${EMULATOR[0]}" || die "the emulator did not start"
base=${line#svcbind emulator listening on }
case "$base" in
  http://127.0.0.1:*/client/v4) echo "$line" ;;
  *) die "unexpected first line from the emulator: $line" ;;
esac
export CLOUDFLARE_BASE_URL=$base CLOUDFLARE_API_TOKEN=$token

say "a repository whose main holds the account as it is, and a pull request with $desired"
repo=$work/repo
mkdir -p "$repo"
cd "$repo"
git() { command git -c user.name=rehearsal -c user.email=rehearsal@example.com -c commit.gpgsign=false "$@"; }
git init -q -b main
# main: the file's own settings (everything before `prefixes:`), with the account's prefixes as
# `svcbind export` writes them, so the pull request changes exactly what the file changes.
"$SVCBIND" export --emulate "$seed" -o "$work/exported.yaml"
{
  sed '/^prefixes:/,$d' "$desired"
  sed -n '/^prefixes:/,$p' "$work/exported.yaml"
} > svcbind.yaml
git add svcbind.yaml
git commit -q -m "svcbind.yaml as the account is"
git checkout -q -b change
cp "$desired" svcbind.yaml
git commit -q -a -m "the change under review"
git log --oneline

# 1. The pull request.
step 0 "$work/validate.txt" -- "$SVCBIND" validate -c svcbind.yaml
step 0 "$work/comment.md" -- "$SVCBIND" plan -c svcbind.yaml --changed-since main --out "$work/plan.json" --format markdown
marked "$work/comment.md" "<!-- svcbind:plan -->"
[ -s "$work/plan.json" ] || die "plan --out wrote no plan"
cat "$work/comment.md"
force=""
if grep -q '"needs_force": true' "$work/plan.json"; then
  force=yes
  echo "This plan needs --force: in CI, a reviewer approves it with the svcbind:force label."
fi
grep -q '"has_changes": true' "$work/plan.json" || echo "(the plan has no changes)"

# 2. The merge.
step 0 "$work/apply.md" -- "$SVCBIND" apply "$work/plan.json" -c svcbind.yaml --yes --format markdown ${force:+--force} --wait=10m
marked "$work/apply.md" "<!-- svcbind:apply -->"
cat "$work/apply.md"
step 0 "$work/again.txt" -- "$SVCBIND" apply "$work/plan.json" -c svcbind.yaml --yes ${force:+--force}
grep -q 'already been applied' "$work/again.txt" || die "a second apply of the plan did not say it was applied already"
echo "a re-run of the merge job changes nothing"

# 3. The schedule, in sync.
step 0 "$work/in-sync.md" -- "$SVCBIND" drift -c svcbind.yaml --format markdown --report "$work/drift.json"
marked "$work/in-sync.md" "<!-- svcbind:drift -->"

# 4. A change behind svcbind's back: delete the most specific binding of the first prefix
#    the plan changed (else of the first managed prefix), through the API as any client would.
say "someone deletes a binding by hand"
account=$(sed -n 's/^  "account_id": "\(.*\)",$/\1/p' "$work/drift.json")
changed=$(awk '/^      "id": "/ { id = $2 } /^      "unchanged": false/ { gsub(/[",]/, "", id); print id; exit }' "$work/plan.json")
prefix=${changed:-$(sed -n 's/^      "id": "\(.*\)",$/\1/p' "$work/drift.json" | head -n 1)}
[ -n "$account" ] && [ -n "$prefix" ] || die "the drift report names no managed prefix"
api="$base/accounts/$account/addressing/prefixes/$prefix/bindings"
auth="Authorization: Bearer $token"
binding="" longest=-1
while IFS=' ' read -r id cidr; do
  bits=${cidr#*/}
  if [ "$bits" -gt "$longest" ]; then binding=$id longest=$bits chosen=$cidr; fi
done < <(curl -fsS -H "$auth" "$api" | grep -o '"id":"[0-9a-zA-Z]*","cidr":"[^"]*"' | sed 's/"id":"\([^"]*\)","cidr":"\([^"]*\)"/\1 \2/')
[ -n "$binding" ] || die "the first managed prefix has no binding to delete"
curl -fsS -X DELETE -H "$auth" "$api/$binding" > /dev/null
echo "deleted $chosen (binding $binding)"

# 5. The schedule, drifted.
step 2 "$work/issue.md" -- "$SVCBIND" drift -c svcbind.yaml --format markdown --report "$work/drift.json"
marked "$work/issue.md" "<!-- svcbind:drift -->"
grep -qF "$chosen" "$work/issue.md" || die "the drift issue does not name $chosen"
cat "$work/issue.md"
if [ -n "$changed" ]; then
  step 3 "$work/stale.md" -- "$SVCBIND" apply "$work/plan.json" -c svcbind.yaml --yes --format markdown ${force:+--force}
  grep -q 'changed since the plan was made' "$work/stale.md" || die "the stale refusal lacks the words the apply recipes look for"
  echo "refused as stale, as apply on merge would be after a change behind svcbind's back"
fi

say "rehearsal passed: plan on the pull request, apply of the saved plan, drift in sync, drift found"
