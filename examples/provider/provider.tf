terraform {
  required_providers {
    sigil = {
      source = "sigil/sigil"
    }
  }
}

# Every argument is optional and falls back to the environment:
# SIGIL_ENDPOINT, SIGIL_TOKEN and SIGIL_ORG (then "default").
provider "sigil" {
  endpoint = "http://127.0.0.1:8080"
  org      = "default"
  # token  = var.sigil_token # prefer SIGIL_TOKEN: keep secrets out of HCL
}
