#!/usr/bin/env bash
# The README walkthrough as a script: create a bot, issue a token, use it, revoke it, see 401.
# Needs SIGIL_ENDPOINT and SIGIL_TOKEN (an owner token).
set -euo pipefail
E=${SIGIL_ENDPOINT:?set SIGIL_ENDPOINT}; H="Authorization: Bearer ${SIGIL_TOKEN:?set SIGIL_TOKEN}"; J="Content-Type: application/json"
name="demo-$RANDOM"
curl -sf -XPOST "$E/v1/orgs/default/bots" -H "$H" -H "$J" -d "{\"username\":\"$name\",\"permissions\":[\"machines:get,list:*\"]}" >/dev/null
resp=$(curl -sf -XPOST "$E/v1/orgs/default/tokens" -H "$H" -H "$J" -d "{\"owner\":\"$name\",\"expiry\":\"100d\",\"label\":\"ci\"}")
tok=$(echo "$resp" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
id=$(echo "$resp" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -sf "$E/v1/whoami" -H "Authorization: Bearer $tok"; echo
curl -sf -XDELETE "$E/v1/orgs/default/tokens/$id" -H "$H" >/dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' "$E/v1/whoami" -H "Authorization: Bearer $tok")
echo "after revoke: HTTP $code"
curl -sf -XDELETE "$E/v1/orgs/default/bots/$name" -H "$H"
[ "$code" = 401 ]
