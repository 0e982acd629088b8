# By id, or org/id. The JWT itself cannot be recovered: an imported token has
# no `token` attribute. Import to manage (label, revocation on destroy) a token
# whose JWT is already where it is needed.
terraform import sigil_token.deploy 01a2054e-1c2d-7c4e-9a1b-3f6d2e8c9b10
