resource "sigil_bot" "deploy" {
  username    = "deploy-bot"
  description = "Deploys web-prod from CI"
  permissions = [
    "machines:get,list,update:*",
    "tokens:get,list:*",
  ]
  identities = {
    github = "deploy-bot"
    aws    = "arn:aws:iam::123456789012:role/deploy"
  }
}
