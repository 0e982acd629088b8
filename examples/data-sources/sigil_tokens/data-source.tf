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
