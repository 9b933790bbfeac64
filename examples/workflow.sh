#!/usr/bin/env bash
# The whole workflow against a running bolservice, with the example files:
# clear → new → upload (PDF) → upload-csv (spreadsheet) → download-bol.
# Usage: bash examples/workflow.sh [PDF] [SPREADSHEET]   (BOLSERVICE_URL, default http://127.0.0.1:8000)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
url=${BOLSERVICE_URL:-http://127.0.0.1:8000}
pdf=${1:-$here/sample.pdf}
sheet=${2:-$here/sample.csv}
out=${OUT:-BOL_processed.csv}

# A workspace id of our own: 128 random bits, URL-safe.
sid=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

call() {  # call METHOD PATH [curl args...]: print the JSON answer, stop on an error status
  local method=$1 path=$2
  shift 2
  curl --silent --show-error --fail-with-body -X "$method" "$url$path" "$@"
  echo
}

call POST "/clear-session?_sid=$sid"
call POST "/new-session?_sid=$sid"
call POST "/upload?_sid=$sid" -F "file=@$pdf"
call POST "/upload-csv?_sid=$sid" -F "file=@$sheet"
curl --silent --show-error --fail-with-body "$url/download-bol?_sid=$sid" -o "$out"
echo "saved $out ($(wc -l < "$out") lines)"
