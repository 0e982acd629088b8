terraform {
  required_providers {
    sigil = {
      source = "sigil/sigil"
    }
  }
}
