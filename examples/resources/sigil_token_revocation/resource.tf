# Revoke a token that leaked, whoever issued it. A revocation cannot be undone:
# removing this block only makes Terraform forget it.
resource "sigil_token_revocation" "leaked" {
  token_id = "01a2054e-1c2d-7c4e-9a1b-3f6d2e8c9b10"
  reason   = "posted in a public CI log"
}
