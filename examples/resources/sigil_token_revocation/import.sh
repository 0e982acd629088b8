# By the id of a revoked token, or org/id.
terraform import sigil_token_revocation.leaked 01a2054e-1c2d-7c4e-9a1b-3f6d2e8c9b10
