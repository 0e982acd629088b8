# One root configuration using the ci-bot module twice: a bot and a rotating
# token for each of two pipelines. Run with SIGIL_ENDPOINT and SIGIL_TOKEN set.

terraform {
  required_providers {
    sigil = {
      source = "sigil/sigil"
    }
  }
}

provider "sigil" {}

module "ci_web" {
  source = "./modules/ci-bot"

  name        = "ci-web"
  permissions = ["machines:get,list,update:*", "tokens:get:*"]
}

module "ci_api" {
  source = "./modules/ci-bot"

  name          = "ci-api"
  description   = "Builds and deploys the API"
  permissions   = ["machines:get,list:*", "apps:get:*"]
  token_claims  = ["machines:get,list:*"]
  token_expiry  = "30d"
  rotate_before = "7d"
}

output "ci_web_token" {
  value     = module.ci_web.token
  sensitive = true
}

output "ci_api_token" {
  value     = module.ci_api.token
  sensitive = true
}

output "token_expiry" {
  value = {
    ci_web = module.ci_web.expires_at
    ci_api = module.ci_api.expires_at
  }
}
