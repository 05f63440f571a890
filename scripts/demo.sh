#!/usr/bin/env bash
# make demo: build a small repository whose history hides secrets the way
# real ones do, then let gatekeeper find them. Needs only git and the binary.
set -euo pipefail
gk=$(realpath "${1:-bin/gatekeeper}")
dash=$(realpath "${2:-bin/dashboard}")
root=$(pwd)
evidence="$root/demo-evidence" # kept after the demo: the weekly PDF and CSV files
work=$(mktemp -d "${TMPDIR:-/tmp}/secretgate-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
export SECRETGATE_FINGERPRINT_KEY_FILE="$work/fingerprint.key"

g() { git -c user.name="Dana Dev" -c user.email=dana@example.com "$@"; }

# Fake secrets, made here so no real-looking key sits in this script.
aws_id="AKIA$(printf 'QYLPMN5HZ3WBXK7T')"
gh_tok="ghp_$(printf 'R8mQz2Lx7Vb4Nc9Kp1Ws6Ty3Hd5Fj0Ga8Uex')"
db_pw="h7Rk2pQ9zLm4"

banner() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# ---------------------------------------------------------------- the gate
server="$work/server/shop.git"
banner "A git server: bare repository $server with the secretgate pre-receive hook"
git init -q --bare "$server"
"$gk" hook install --repo "$server"

clone="$work/laptop/shop"
git clone -q "$server" "$clone" 2>/dev/null
cd "$clone"
git checkout -q -b main
printf 'import os\n\ndef main():\n    print("shop")\n' > app.py
g add . && g commit -qm "Initial shop"
banner "git push (clean)"
git push -q origin main && echo "accepted"

printf '[default]\naws_access_key_id = %s\nregion = eu-west-1\n' "$aws_id" > deploy.ini
g add . && g commit -qm "Deploy settings"
banner "git push (a commit with an AWS key): the server refuses it"
if git push origin main; then echo "demo: the secret got through" >&2; exit 1; fi

banner "git push -o secretgate.bypass=used_in_tests: accepted, recorded, alerted"
git push -o secretgate.bypass=used_in_tests origin main

banner "gatekeeper pushes: the server's record"
"$gk" pushes --git-dir "$server"

banner "The alerts (no SNS topic configured, so they go to $server/alerts.log)"
for _ in $(seq 50); do [ -s "$server/alerts.log" ] && [ "$(wc -l < "$server/alerts.log")" -ge 2 ] && break; sleep 0.1; done
cat "$server/alerts.log"

# ---------------------------------------------------------- history scans
banner "gatekeeper scan: a repository whose history hides secrets"
repo="$work/shop"
git init -q -b main "$repo"
cd "$repo"
printf 'import os\n\ndef main():\n    print("shop")\n' > app.py
printf '# Shop\n\nConfigure AWS with your key, e.g. AKIAIOSFODNN7EXAMPLE.\n' > README.md
g add . && g commit -qm "Initial shop"

printf '[default]\naws_access_key_id = %s\nregion = eu-west-1\n' "$aws_id" > deploy.ini
g add . && g commit -qm "Deploy settings"
git rm -q deploy.ini && g commit -qm "Remove deploy settings (the key is still in history)"

g checkout -qb feature
printf 'DATABASE_URL = "postgres://shop:%s@db.internal:5432/shop"\n' "$db_pw" > settings.py
g add . && g commit -qm "Database settings"
g checkout -q main
printf 'import os\n\ndef main():\n    print("shop v2")\n' > app.py
g commit -qam "v2"
# An "evil merge": the token appears only in the merge commit's resolution.
g merge -q --no-commit feature >/dev/null 2>&1 || true
printf 'GITHUB_TOKEN = "%s"\n' "$gh_tok" >> settings.py
g add settings.py && g commit -qm "Merge feature"

echo "== gatekeeper scan (whole history of $(git rev-list --all | wc -l) commits)"
set +e
"$gk" scan --no-progress .
code=$?
set -e
echo "== exit code $code (1 = secrets found)"
echo
echo "== the same as JSON (first finding)"
"$gk" scan --no-progress --format json . 2>/dev/null | head -22 || true
echo
echo "== the working tree only (--dir): the removed AWS key is gone from the files, not from history"
"$gk" scan --no-progress --dir . || true

# ---------------------------------------------------------------- the watch
trail="$work/trail"
watch="$work/watch.db"
# The trail runs from two weeks before this week's Monday to yesterday, so
# that this week's report holds the gate's pushes made above.
dow=$(date -u +%u)
week=$(date -u +%G-W%V)
days=$((13 + dow))
start=$(date -u -d "-$days days" +%F)
banner "The watch: $days days of a generated organisation's CloudTrail from $start, and real AWS sample records"
"$dash" gen --out "$trail" --days "$days" --events 250000 --start "$start" --inventory "$work/secrets.json"
"$dash" ingest --db "$watch" "$trail" "$root/internal/cloudtrail/testdata"
"$dash" inventory import --db "$watch" "$work/secrets.json"
banner "dashboard report --week $week --store (the gate's record): the weekly evidence, tables and row counts"
"$dash" report --db "$watch" --week "$week" --store "$server/secretgate.db" >"$work/report.txt" 2>"$work/report.err"
grep -E '\(([0-9]+) rows\)$' "$work/report.txt"
banner "The headline, the data's completeness (the days to come have no files yet), and the gate's pushes"
awk '/^Headline figures/,/^$/' "$work/report.txt"
awk '/^Data completeness/,/^$/' "$work/report.txt"
awk '/^Secrets pushed to git/,/^$/' "$work/report.txt"
rm -rf "$evidence"
banner "The same week as a PDF and as CSV files, in $evidence"
"$dash" report --db "$watch" --week "$week" --store "$server/secretgate.db" --format pdf --out "$evidence" 2>/dev/null
"$dash" report --db "$watch" --week "$week" --store "$server/secretgate.db" --format csv --out "$evidence/csv" 2>/dev/null | wc -l | xargs printf '%s CSV files\n'

banner "dashboard serve --check: every page of the web dashboard on this week's data, as a signed-in user sees it"
"$dash" serve --db "$watch" --store "$server/secretgate.db" --week "$week" --check "$work/pages"

# No planted secret may appear in anything secretgate printed or kept.
if "$gk" scan --no-progress --format json . 2>&1 | grep -qE "$aws_id|$gh_tok|$db_pw" ||
   grep -qaE "$aws_id|$gh_tok|$db_pw" "$server"/secretgate.db* "$server/alerts.log" "$work/report.txt" "$watch"* ||
   grep -rqaE "$aws_id|$gh_tok|$db_pw" "$evidence" "$work/pages"; then
  echo "demo: a secret leaked into the output" >&2; exit 1
fi
banner "No planted secret appears in any output, the databases, the alerts, the evidence or the dashboard's pages."

# On a terminal, the dashboard stays up to be looked at (DEMO_SERVE=0 skips).
if [ -t 0 ] && [ -t 1 ] && [ "${DEMO_SERVE:-1}" != 0 ]; then
  banner "The dashboard at http://127.0.0.1:${DEMO_PORT:-8080}: sign in with the password below; Ctrl-C stops it"
  "$dash" serve --db "$watch" --store "$server/secretgate.db" --addr "127.0.0.1:${DEMO_PORT:-8080}" || true
fi
