output "bot_id" {
  description = "Id of the bot."
  value       = sigil_bot.this.id
}

output "token_id" {
  description = "Id of the current token."
  value       = sigil_token.this.id
}

output "token" {
  description = "The current token (JWT). Store it in your CI's secret store."
  value       = sigil_token.this.token
  sensitive   = true
}

output "expires_at" {
  description = "When the current token expires."
  value       = sigil_token.this.expires_at
}
