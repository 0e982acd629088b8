data "sigil_bots" "all" {}

output "bot_usernames" {
  value = [for b in data.sigil_bots.all.bots : b.username]
}
