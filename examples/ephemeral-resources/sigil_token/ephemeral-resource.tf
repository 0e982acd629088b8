# A token of the deployer bot for this run only: issued when the run needs
# it, revoked when the run is done, in no plan or state file.
ephemeral "sigil_token" "ci" {
  bot_id = sigil_bot.deployer.id
  claims = ["bots:create,get,list,update,delete:*"]
  expiry = "15m"
}

# A second Sigil provider that acts with it.
provider "sigil" {
  alias = "ci"
  token = ephemeral.sigil_token.ci.token
}

resource "sigil_bot" "made_in_the_run" {
  provider = sigil.ci
  username = "made-in-the-run"
}

resource "sigil_bot" "deployer" {
  username    = "deployer"
  permissions = ["bots:create,get,list,update,delete:*"]
}
