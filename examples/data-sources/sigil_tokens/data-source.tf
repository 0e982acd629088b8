data "sigil_bot" "deploy" {
  username = "deploy-bot"
}

# Metadata only: a JWT is never listed.
data "sigil_tokens" "deploy" {
  bot_id = data.sigil_bot.deploy.id
}

output "deploy_tokens_expiring" {
  value = { for t in data.sigil_tokens.deploy.tokens : t.id => t.expires_at }
}

# Tokens that need attention: revoked (e.g. by a leak report) or used up.
data "sigil_tokens" "dead" {
  bot_id = data.sigil_bot.deploy.id
  status = ["revoked", "exhausted"]
}

output "dead_tokens" {
  value = { for t in data.sigil_tokens.dead.tokens : t.id => "${t.status} ${coalesce(t.revoked_reason, "")}" }
}
