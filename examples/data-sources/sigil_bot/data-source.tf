data "sigil_bot" "deploy" {
  username = "deploy-bot"
}

output "deploy_permissions" {
  value = data.sigil_bot.deploy.permissions
}
