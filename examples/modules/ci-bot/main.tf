# A bot and a token that rotates itself: every plan within `rotate_before` of
# the token's expiry replaces it. The new token is created before the old one
# is destroyed, and the old one stays valid for `grace_period`.

resource "sigil_bot" "this" {
  username    = var.name
  description = var.description
  permissions = var.permissions
}

resource "sigil_token" "this" {
  bot_id        = sigil_bot.this.id
  label         = "${var.name}-ci"
  expiry        = var.token_expiry
  rotate_before = var.rotate_before
  grace_period  = var.grace_period
  claims        = var.token_claims

  lifecycle {
    create_before_destroy = true
  }
}
