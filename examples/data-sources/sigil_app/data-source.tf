data "sigil_app" "web" {
  name = "web-prod"
}

output "web_app_id" {
  value = data.sigil_app.web.id
}
