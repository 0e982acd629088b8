resource "sigil_webhook" "pager" {
  url         = "https://hooks.example.com/sigil"
  events      = ["token.expiring", "token.expired", "token.leaked"]
  description = "Expiry warnings and leaks to the on-call bridge"
}

# Every event type (events omitted, or ["*"]).
resource "sigil_webhook" "audit" {
  url = "https://siem.example.com/ingest/sigil"
}

# The receiver needs the secret to check `Sigil-Signature`: hand it over
# without printing it (it is sensitive, and known only after create).
output "pager_webhook_secret" {
  value     = sigil_webhook.pager.secret
  sensitive = true
}
