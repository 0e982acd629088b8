# Least privilege for one run: a child of the provider's own token that can
# only manage bots, for ten minutes, revoked when the run is done.
ephemeral "sigil_derived_token" "bots_only" {
  claims = ["bots:create,get,list,update,delete:*"]
  expiry = "10m"
}

provider "sigil" {
  alias = "bots_only"
  token = ephemeral.sigil_derived_token.bots_only.token
}

resource "sigil_bot" "build" {
  provider = sigil.bots_only
  username = "build"
}
