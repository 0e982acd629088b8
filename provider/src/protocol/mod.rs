//! The plugin protocol layer: tfplugin6 **6.8** on tonic + prost, in front
//! of tf-provider 0.2 (which speaks 6.5 and keeps its server to itself).
//!
//! # Layering
//! Terraform talks to one front server (this module: the go-plugin
//! handshake line, AutoMTLS, the `plugin.*` services). Behind it, in the same
//! process, tf-provider serves the resources and data sources as they are,
//! on a private loopback port without TLS. The front:
//!
//! - **answers** `GetMetadata` and `GetProviderSchema` (tf-provider's answer,
//!   decoded, plus the ephemeral resources and the `write_only` flags), and
//!   the ephemeral-resource RPCs (`ValidateEphemeralResourceConfig`,
//!   `OpenEphemeralResource`, `RenewEphemeralResource`,
//!   `CloseEphemeralResource`, see [`crate::ephemeral`]);
//! - **inspects, then forwards** `ValidateResourceConfig`: a write-only
//!   attribute set by a client that does not declare
//!   `write_only_attributes_allowed` (Terraform < 1.11, which would store it
//!   in state) is an error on that attribute;
//! - **forwards** every other RPC unchanged, as bytes ([`raw`]), to
//!   tf-provider: its own messages in, its own answers out. Nothing is
//!   decoded on the way, so no field is lost, and Terraform 1.0–1.9 get
//!   exactly tf-provider's provider (they ignore the fields they do not know:
//!   ephemeral schemas and `write_only`).
//!
//! Why in-process over a socket: tf-provider exposes only `serve`, which
//! binds a TCP port, prints its own handshake line on stdout and serves; its
//! service types are private. So it is started with its port chosen for it
//! (`PLUGIN_MIN_PORT` = `PLUGIN_MAX_PORT`) and without `PLUGIN_CLIENT_CERT`
//! (no TLS on loopback), *after* the front printed its line, so Terraform
//! reads the front's line first and only logs the other. No unsafe code, one
//! process, and tf-provider unchanged. Both servers live until the process
//! ends (Terraform's `GRPCController.Shutdown`, or a kill).
//!
//! Known limits: tf-provider's port is found free and released before
//! tf-provider binds it again, so another process could take it in between
//! (the front then answers every forwarded call with an error naming the
//! port, after a bounded wait). Like tf-provider's, both servers listen on
//! loopback only, and the front, like tf-provider, leaves client
//! certificates optional.

mod front;
pub use front::write_only;
pub mod raw;
pub mod wire;

use std::net::TcpListener;
use std::time::Duration;

use anyhow::{anyhow, Context};
use base64::Engine;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use crate::common::Shared;
use crate::provider::SigilProvider;

/// go-plugin's core protocol version, and the app (tfplugin) major version.
const HANDSHAKE: &str = "1|6|tcp";

/// What `main` prepares before any thread starts (it changes the
/// environment tf-provider reads).
pub struct Prepared {
    front: TcpListener,
    inner_port: u16,
    client_cert: Option<String>,
}

/// Binds the front's port, chooses tf-provider's, and takes AutoMTLS's client
/// certificate out of the environment so that tf-provider serves plain
/// loopback. Call before starting threads: it sets environment variables.
pub fn prepare() -> anyhow::Result<Prepared> {
    let front = TcpListener::bind("127.0.0.1:0").context("cannot bind the plugin port")?;
    front.set_nonblocking(true)?;
    let inner_port = {
        let probe = TcpListener::bind("127.0.0.1:0").context("cannot find a loopback port")?;
        probe.local_addr()?.port()
    };
    let client_cert = std::env::var("PLUGIN_CLIENT_CERT")
        .ok()
        .filter(|c| !c.is_empty());
    std::env::remove_var("PLUGIN_CLIENT_CERT");
    std::env::set_var("PLUGIN_MIN_PORT", inner_port.to_string());
    std::env::set_var("PLUGIN_MAX_PORT", inner_port.to_string());
    Ok(Prepared {
        front,
        inner_port,
        client_cert,
    })
}

/// Serves the provider until Terraform shuts it down.
pub async fn serve(p: Prepared, shared: Shared) -> anyhow::Result<()> {
    let addr = p.front.local_addr()?;
    let (tls, cert_der) = match &p.client_cert {
        Some(pem) => {
            let (tls, der) = auto_mtls(pem)?;
            (Some(tls), der)
        }
        None => (None, Vec::new()),
    };
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls)?;
    }
    let stop = tokio_util::sync::CancellationToken::new();
    let provider = SigilProvider::with_shared(shared.clone());
    let front = front::Front::new(p.inner_port, shared);
    let router = builder
        .add_service(front)
        .add_service(raw::Controller(stop.clone()))
        .add_service(raw::Stdio(stop.clone()))
        .add_service(raw::Broker(stop.clone()));
    let listener = tokio::net::TcpListener::from_std(p.front)?;
    // The front's line first: Terraform connects to the first line it reads.
    println!(
        "{HANDSHAKE}|{addr}|grpc|{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(&cert_der)
    );
    // tf-provider's server; its task ends with the process.
    tokio::spawn(async move {
        if let Err(e) = tf_provider::serve("sigil", provider).await {
            eprintln!("terraform-provider-sigil: the inner server stopped: {e:#}");
        }
    });
    router
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), stop.cancelled_owned())
        .await
        .map_err(|e| anyhow!(e))?;
    // Let a last answer (the Shutdown's) reach Terraform.
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(())
}

/// AutoMTLS as go-plugin expects it: Terraform's certificate is the client
/// CA; ours is a fresh self-signed one, whose DER goes into the handshake
/// line. (As tf-provider does: client authentication stays optional.)
fn auto_mtls(client_pem: &str) -> anyhow::Result<(ServerTlsConfig, Vec<u8>)> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let now = time::OffsetDateTime::now_utc();
    let mut cp = CertificateParams::new(vec!["localhost".to_string()])?;
    cp.not_before = now - time::Duration::seconds(30);
    cp.not_after = now + time::Duration::days(365);
    cp.distinguished_name
        .push(DnType::OrganizationName, "HashiCorp");
    cp.distinguished_name.push(DnType::CommonName, "localhost");
    cp.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    cp.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyAgreement,
        KeyUsagePurpose::KeyCertSign,
    ];
    cp.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let cert = cp.self_signed(&key)?;
    let tls = ServerTlsConfig::new()
        .client_ca_root(Certificate::from_pem(client_pem))
        .client_auth_optional(true)
        .identity(Identity::from_pem(cert.pem(), key.serialize_pem()));
    Ok((tls, cert.der().to_vec()))
}
