//! The front `tfplugin6.Provider` service: which RPCs it answers, inspects
//! or forwards is said in [`super`].

// tonic's `Status` is the error of every RPC here, as in tonic's own code.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use serde::de::IgnoredAny;
use tokio::sync::OnceCell;
use tonic::body::BoxBody;
use tonic::codegen::{http, Body, Service};
use tonic::server::NamedService;
use tonic::transport::{Channel, Endpoint};
use tonic::Status;

use super::raw::{self, BoxFuture};
use super::wire::{self, Diagnostic};
use crate::common::Shared;
use crate::ephemeral;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const SERVICE: &str = "tfplugin6.Provider";

/// How long the front waits for tf-provider's port to answer (it starts
/// right after the handshake line).
const INNER_START: Duration = Duration::from_secs(10);

/// The write-only attributes of each resource type: flagged `write_only` in
/// the schema, refused from clients that would store them.
pub fn write_only(type_name: &str) -> &'static [&'static str] {
    match type_name {
        "sigil_webhook" => crate::webhook::WRITE_ONLY,
        _ => &[],
    }
}

#[derive(Clone)]
pub struct Front {
    inner_port: u16,
    inner: Arc<OnceCell<Channel>>,
    shared: Shared,
}

impl NamedService for Front {
    const NAME: &'static str = SERVICE;
}

impl Front {
    pub fn new(inner_port: u16, shared: Shared) -> Self {
        Front {
            inner_port,
            inner: Arc::default(),
            shared,
        }
    }

    /// The channel to tf-provider, once its port answers (bounded wait).
    async fn inner(&self) -> Result<Channel, Status> {
        let port = self.inner_port;
        self.inner
            .get_or_try_init(|| async move {
                let endpoint = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
                    .map_err(|e| Status::internal(e.to_string()))?;
                let deadline = tokio::time::Instant::now() + INNER_START;
                loop {
                    match endpoint.connect().await {
                        Ok(ch) => return Ok(ch),
                        Err(e) if tokio::time::Instant::now() >= deadline => {
                            return Err(Status::unavailable(format!(
                                "the provider's inner server (127.0.0.1:{port}) did not start: {e}"
                            )))
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                }
            })
            .await
            .cloned()
    }

    async fn forward(&self, path: &str, body: Bytes) -> Result<Bytes, Status> {
        raw::call(self.inner().await?, path, body).await
    }

    async fn dispatch(self, path: String, body: Bytes) -> Result<Bytes, Status> {
        let method = path.rsplit('/').next().unwrap_or_default();
        match method {
            "GetMetadata" => {
                let answer = self.forward(&path, body).await?;
                let mut m = decode::<wire::GetMetadataResponse>(&answer)?;
                m.ephemeral_resources.extend(
                    ephemeral::types()
                        .into_iter()
                        .map(|(type_name, _)| wire::TypeName { type_name }),
                );
                Ok(m.encode_to_vec().into())
            }
            "GetProviderSchema" => {
                let answer = self.forward(&path, body).await?;
                let mut m = decode::<wire::GetProviderSchemaResponse>(&answer)?;
                for (name, schema) in m.resource_schemas.iter_mut() {
                    let wo = write_only(name);
                    if let Some(block) = schema.block.as_mut() {
                        for a in block.attributes.iter_mut() {
                            a.write_only = wo.contains(&a.name.as_str());
                        }
                    }
                }
                m.ephemeral_resource_schemas.extend(
                    ephemeral::types()
                        .into_iter()
                        .map(|(name, schema)| (name, wire::schema(&schema))),
                );
                Ok(m.encode_to_vec().into())
            }
            "ValidateResourceConfig" => {
                let req = decode::<wire::ValidateResourceConfigRequest>(&body)?;
                let refused = refuse_write_only(&req);
                let answer = self.forward(&path, body).await?;
                if refused.is_empty() {
                    return Ok(answer);
                }
                let mut m = decode::<wire::Diagnostics1>(&answer)?;
                m.diagnostics.extend(refused);
                Ok(m.encode_to_vec().into())
            }
            "ValidateEphemeralResourceConfig" => {
                let req = decode::<wire::EphemeralConfigRequest>(&body)?;
                let diags = ephemeral::validate(&req.type_name, &msgpack(&req.config));
                Ok(wire::Diagnostics1 {
                    diagnostics: wire::diagnostics(diags),
                }
                .encode_to_vec()
                .into())
            }
            "OpenEphemeralResource" => {
                let req = decode::<wire::EphemeralConfigRequest>(&body)?;
                let (diags, opened) =
                    ephemeral::open(&self.shared, &req.type_name, &msgpack(&req.config)).await;
                let (result, private) = opened.unzip();
                Ok(wire::OpenEphemeralResourceResponse {
                    diagnostics: wire::diagnostics(diags),
                    result: result.map(|msgpack| wire::DynamicValue {
                        msgpack,
                        json: Vec::new(),
                    }),
                    private,
                }
                .encode_to_vec()
                .into())
            }
            // Never asked for (Open sets no renew_at); answered as a no-op.
            "RenewEphemeralResource" => {
                let req = decode::<wire::EphemeralPrivateRequest>(&body)?;
                Ok(wire::RenewEphemeralResourceResponse {
                    diagnostics: Vec::new(),
                    private: req.private,
                }
                .encode_to_vec()
                .into())
            }
            "CloseEphemeralResource" => {
                let req = decode::<wire::EphemeralPrivateRequest>(&body)?;
                let private = req.private.unwrap_or_default();
                let diags = ephemeral::close(&self.shared, &req.type_name, &private).await;
                Ok(wire::Diagnostics1 {
                    diagnostics: wire::diagnostics(diags),
                }
                .encode_to_vec()
                .into())
            }
            _ => self.forward(&path, body).await,
        }
    }
}

fn decode<M: Message + Default>(b: &[u8]) -> Result<M, Status> {
    M::decode(b).map_err(|e| Status::internal(format!("cannot decode a tfplugin6 message: {e}")))
}

fn msgpack(v: &Option<wire::DynamicValue>) -> Vec<u8> {
    v.as_ref().map(|v| v.msgpack.clone()).unwrap_or_default()
}

/// The write-only attributes a configuration sets: known or unknown, not null.
fn set_write_only(type_name: &str, config: &[u8]) -> Vec<&'static str> {
    let wo = write_only(type_name);
    if wo.is_empty() || config.is_empty() {
        return Vec::new();
    }
    /// Null, or anything else (a value of any type, or unknown).
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Probe {
        Null(()),
        Set(IgnoredAny),
    }
    let Ok(attrs) = rmp_serde::from_slice::<HashMap<String, Probe>>(config) else {
        return Vec::new();
    };
    wo.iter()
        .copied()
        .filter(|a| matches!(attrs.get(*a), Some(Probe::Set(_))))
        .collect()
}

/// Errors for write-only attributes set by a client that would store them.
fn refuse_write_only(req: &wire::ValidateResourceConfigRequest) -> Vec<Diagnostic> {
    let allowed = req
        .client_capabilities
        .as_ref()
        .is_some_and(|c| c.write_only_attributes_allowed);
    if allowed {
        return Vec::new();
    }
    set_write_only(&req.type_name, &msgpack(&req.config))
        .into_iter()
        .map(|a| {
            Diagnostic::error(
                format!("{a} needs Terraform 1.11 or later"),
                format!(
                    "`{a}` is write-only: Terraform 1.11 and later send it to the provider and \
                     never store it. This Terraform does not support write-only attributes and \
                     would keep it in the plan and state, so it is refused. Upgrade Terraform, \
                     or leave `{a}` unset (the server then generates the secret, kept in state \
                     as `secret`)."
                ),
                Some(a),
            )
        })
        .collect()
}

impl<B> Service<http::Request<B>> for Front
where
    B: Body + Send + 'static,
    B::Error: Into<BoxError> + Send,
{
    type Response = http::Response<BoxBody>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let front = self.clone();
        let path = req.uri().path().to_string();
        Box::pin(async move { Ok(raw::unary(req, move |body| front.dispatch(path, body)).await) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tf_provider::value::Value;

    fn config(secret_wo: Value<String>) -> Vec<u8> {
        let mut m: HashMap<String, Value<String>> = HashMap::new();
        m.insert("url".into(), Value::Value("https://h".into()));
        m.insert("secret_wo".into(), secret_wo);
        rmp_serde::to_vec_named(&m).unwrap_or_default()
    }

    fn request(
        secret_wo: Value<String>,
        allowed: Option<bool>,
    ) -> wire::ValidateResourceConfigRequest {
        wire::ValidateResourceConfigRequest {
            type_name: "sigil_webhook".into(),
            config: Some(wire::DynamicValue {
                msgpack: config(secret_wo),
                json: Vec::new(),
            }),
            client_capabilities: allowed.map(|a| wire::ClientCapabilities {
                deferral_allowed: false,
                write_only_attributes_allowed: a,
            }),
        }
    }

    #[test]
    fn write_only_secrets_are_refused_from_clients_that_would_store_them() {
        let set = Value::Value("s3cret".to_string());
        // Terraform 1.0–1.10: no capability sent, or not allowed.
        for allowed in [None, Some(false)] {
            let refused = refuse_write_only(&request(set.clone(), allowed));
            assert_eq!(refused.len(), 1);
            assert_eq!(
                refused[0].summary,
                "secret_wo needs Terraform 1.11 or later"
            );
            assert!(!refused[0].detail.contains("s3cret"));
            // An unknown value is set too (it will be known at apply).
            assert_eq!(
                refuse_write_only(&request(Value::Unknown, allowed)).len(),
                1
            );
            assert!(refuse_write_only(&request(Value::Null, allowed)).is_empty());
        }
        assert!(refuse_write_only(&request(set, Some(true))).is_empty());
        let mut other = request(Value::Value("x".into()), None);
        other.type_name = "sigil_bot".into();
        assert!(refuse_write_only(&other).is_empty());
    }
}
