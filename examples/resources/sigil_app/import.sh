# By id, by name (in the provider's org), or org/name.
terraform import sigil_app.web 01a2054e-1c2d-7c4e-9a1b-3f6d2e8c9b10
terraform import sigil_app.web default/web-prod
