//! Sigil JWTs: EdDSA only, `kid` in the header, payload of SPEC §3.
//!
//! Verification here is the cryptographic half (header, signature, issuer,
//! `exp`/`nbf`/`iat` with zero leeway against the `now` passed in). The stateful
//! half — revoked, owner deleted, current permissions — is in `auth`.

use super::keys::LoadedKey;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use sigil_proto::SecretString;

/// The payload of a Sigil token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    pub iss: String,
    /// Owner id.
    pub sub: String,
    /// Org name.
    pub org: String,
    /// App name, when app-scoped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    pub jti: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub claims: Vec<String>,
    /// `bot` or `user`.
    pub kind: String,
}

/// Why a token was refused. The codes are stable (gRPC `reason`, metrics labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    Malformed,
    /// The header's `typ` is missing or not `JWT`.
    BadType,
    BadAlgorithm,
    UnknownKey,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    Revoked,
    UnknownToken,
    OwnerDeleted,
    /// The token is bound to `allowed_cidrs` and the client's address (here;
    /// `None`: not known, as a `Verify` without `client_address`) is outside them.
    AddressNotAllowed(Option<std::net::IpAddr>),
    /// The token has `max_uses` and used them all.
    Exhausted,
}

impl Reject {
    pub fn code(self) -> &'static str {
        match self {
            Reject::Malformed => "malformed",
            Reject::BadType => "bad_type",
            Reject::BadAlgorithm => "bad_algorithm",
            Reject::UnknownKey => "unknown_key",
            Reject::BadSignature => "bad_signature",
            Reject::Expired => "expired",
            Reject::NotYetValid => "not_yet_valid",
            Reject::WrongIssuer => "wrong_issuer",
            Reject::Revoked => "revoked",
            Reject::UnknownToken => "unknown_token",
            Reject::OwnerDeleted => "owner_deleted",
            Reject::AddressNotAllowed(_) => "address_not_allowed",
            Reject::Exhausted => "exhausted",
        }
    }

    /// The message a caller sees (never contains the token; may name the
    /// client's address, which the caller knows).
    pub fn message(self) -> std::borrow::Cow<'static, str> {
        let fixed = match self {
            Reject::Malformed => "the bearer token is not a well-formed Sigil JWT",
            Reject::BadType => "the bearer token's header does not say `typ: JWT`",
            Reject::BadAlgorithm => "the bearer token is not signed with EdDSA",
            Reject::UnknownKey => "the bearer token is signed with an unknown key",
            Reject::BadSignature => "the bearer token's signature is invalid",
            Reject::Expired => "the bearer token has expired",
            Reject::NotYetValid => "the bearer token is not valid yet",
            Reject::WrongIssuer => "the bearer token was issued by someone else",
            Reject::Revoked => "the bearer token has been revoked",
            Reject::UnknownToken => "the bearer token is not known to this server",
            Reject::OwnerDeleted => "the owner of the bearer token no longer exists",
            Reject::Exhausted => {
                "the bearer token has used all of its max_uses (exhausted)"
            }
            Reject::AddressNotAllowed(None) => {
                "the bearer token is bound to allowed_cidrs and the client's address is not known (address_not_allowed)"
            }
            Reject::AddressNotAllowed(Some(ip)) => {
                return format!(
                    "the bearer token may not be used from {ip}: it is outside the token's allowed_cidrs (address_not_allowed)"
                )
                .into();
            }
        };
        fixed.into()
    }
}

pub fn sign(key: &LoadedKey, payload: &Payload) -> Result<SecretString, String> {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    header.typ = Some("JWT".into());
    let enc = key
        .encoding
        .as_ref()
        .ok_or("signing key has no private half")?;
    jsonwebtoken::encode(&header, payload, enc)
        .map(SecretString::new)
        .map_err(|e| e.to_string())
}

/// The header of a token, checked for what every Sigil token says:
/// `typ: JWT`, `alg: EdDSA`.
fn header(token: &str) -> Result<Header, Reject> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| Reject::Malformed)?;
    if !header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("JWT"))
    {
        return Err(Reject::BadType);
    }
    // Only EdDSA: `none` and HMAC (with the public key as secret) never get further.
    if header.alg != Algorithm::EdDSA {
        return Err(Reject::BadAlgorithm);
    }
    Ok(header)
}

/// The kid of a token, read without trusting anything else in it.
pub fn peek_kid(token: &str) -> Result<String, Reject> {
    header(token)?.kid.ok_or(Reject::Malformed)
}

/// Checks header, signature, issuer and times. `key` must be the key named by the kid.
pub fn verify(token: &str, key: &LoadedKey, issuer: &str, now: i64) -> Result<Payload, Reject> {
    let header = header(token)?;
    if header.kid.as_deref() != Some(key.kid.as_str()) {
        return Err(Reject::UnknownKey);
    }
    let mut v = Validation::new(Algorithm::EdDSA);
    // Times are checked below against our clock, with zero leeway.
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.leeway = 0;
    v.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "sub", "jti"]);
    let data = jsonwebtoken::decode::<Payload>(token, &key.decoding, &v).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind as K;
        match e.kind() {
            K::InvalidSignature | K::InvalidEddsaKey => Reject::BadSignature,
            K::InvalidAlgorithm => Reject::BadAlgorithm,
            _ => Reject::Malformed,
        }
    })?;
    let p = data.claims;
    if p.iss != issuer {
        return Err(Reject::WrongIssuer);
    }
    if now >= p.exp {
        return Err(Reject::Expired);
    }
    if now < p.nbf || now < p.iat {
        return Err(Reject::NotYetValid);
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::keys::{generate_signing_key, MasterKey};

    fn key() -> LoadedKey {
        let m = MasterKey::generate();
        let k = generate_signing_key(&m).unwrap();
        LoadedKey::load(&m, &k.kid, &k.public_x, &k.private_sealed, 0, 0).unwrap()
    }

    fn payload(now: i64) -> Payload {
        Payload {
            iss: "sigil".into(),
            sub: "owner".into(),
            org: "default".into(),
            app: None,
            jti: "id".into(),
            iat: now,
            nbf: now,
            exp: now + 60,
            claims: vec!["*:*:*".into()],
            kind: "bot".into(),
        }
    }

    #[test]
    fn round_trip_and_time_bounds() {
        let k = key();
        let t = sign(&k, &payload(1000)).unwrap();
        assert_eq!(peek_kid(t.expose()).unwrap(), k.kid);
        assert!(verify(t.expose(), &k, "sigil", 1000).is_ok());
        assert!(verify(t.expose(), &k, "sigil", 1059).is_ok());
        assert_eq!(verify(t.expose(), &k, "sigil", 1060), Err(Reject::Expired));
        assert_eq!(
            verify(t.expose(), &k, "sigil", 999),
            Err(Reject::NotYetValid)
        );
        assert_eq!(
            verify(t.expose(), &k, "other", 1000),
            Err(Reject::WrongIssuer)
        );
        assert_eq!(
            verify(t.expose(), &key(), "sigil", 1000),
            Err(Reject::UnknownKey)
        );
    }

    /// The same signed payload under a header without `typ`, or with another
    /// `typ`, is refused as `bad_type`.
    #[test]
    fn typ_jwt_is_required() {
        let k = key();
        for typ in [None, Some("at+jwt"), Some("JWS")] {
            let mut h = Header::new(Algorithm::EdDSA);
            h.kid = Some(k.kid.clone());
            h.typ = typ.map(str::to_string);
            let t = jsonwebtoken::encode(&h, &payload(1000), k.encoding.as_ref().unwrap()).unwrap();
            assert_eq!(peek_kid(&t), Err(Reject::BadType), "{typ:?}");
            assert_eq!(
                verify(&t, &k, "sigil", 1000),
                Err(Reject::BadType),
                "{typ:?}"
            );
            assert_eq!(Reject::BadType.code(), "bad_type");
        }
    }
}
