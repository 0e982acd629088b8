resource "sigil_bot" "deploy" {
  username    = "deploy-bot"
  permissions = ["machines:get,list,update:*"]
}

resource "sigil_app" "web" {
  name = "web-prod"
}

# A token for the bot, scoped to one app, replaced 30 days before it expires.
# With create_before_destroy the new token exists before the old one goes, and
# grace_period keeps the old one valid for an hour instead of revoking it at once.
resource "sigil_token" "deploy" {
  bot_id        = sigil_bot.deploy.id
  app_id        = sigil_app.web.id
  label         = "github-actions"
  expiry        = "90d"
  rotate_before = "30d"
  grace_period  = "1h"
  claims        = ["machines:get,list:*"]

  # Change a keeper to force a new token (e.g. after a suspected leak).
  keepers = {
    generation = "1"
  }

  lifecycle {
    create_before_destroy = true
  }
}

# A one-time token for a machine's first boot: usable once, and only from the
# build network. Once used, its status is `exhausted` and the next plan
# replaces it (and says so).
resource "sigil_token" "bootstrap" {
  bot_id        = sigil_bot.deploy.id
  label         = "first-boot"
  expiry        = "1d"
  claims        = ["machines:get:*"]
  allowed_cidrs = ["10.20.0.0/16", "2001:db8:20::/48"]
  max_uses      = 1
}

output "deploy_token" {
  value     = sigil_token.deploy.token
  sensitive = true
}
