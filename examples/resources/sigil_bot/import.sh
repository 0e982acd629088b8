# By org/username, by username (in the provider's org), or by id.
terraform import sigil_bot.deploy default/deploy-bot
terraform import sigil_bot.deploy 01a2054e-1c2d-7c4e-9a1b-3f6d2e8c9b10
