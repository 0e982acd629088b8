variable "name" {
  description = "Username of the bot, e.g. \"ci-web\"."
  type        = string
}

variable "description" {
  description = "What the bot is for."
  type        = string
  default     = "CI bot, managed by Terraform"
}

variable "permissions" {
  description = "Claims the bot holds; its token gets all of them unless token_claims is set."
  type        = set(string)
}

variable "token_claims" {
  description = "Claims of the token (a subset of permissions); null for all of the bot's."
  type        = set(string)
  default     = null
}

variable "token_expiry" {
  description = "Lifetime of each token."
  type        = string
  default     = "90d"
}

variable "rotate_before" {
  description = "Plans replace the token once it is this close to expiry."
  type        = string
  default     = "30d"
}

variable "grace_period" {
  description = "How long a replaced token keeps working, so running jobs finish."
  type        = string
  default     = "1h"
}
