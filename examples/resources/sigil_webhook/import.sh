# By id, or org/id. The signing secret cannot be recovered: an imported webhook
# has a null `secret`. Import to manage a webhook whose receiver already has it.
terraform import sigil_webhook.pager 01a2054e-1c2d-7c4e-9a1b-3f6d2e8c9b10
terraform import sigil_webhook.pager default/01a2054e-1c2d-7c4e-9a1b-3f6d2e8c9b10
