resource "sigil_app" "web" {
  name = "web-prod"
}
