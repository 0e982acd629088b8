//! The gRPC verification API of a [`TestServer`] started with `--grpc-listen`
//! (see [`crate::ServerOptions::with_grpc`]).

use crate::TestServer;
use sigil_proto::v1::verifier_client::VerifierClient;
use sigil_proto::v1::{VerifyRequest, VerifyResponse};
use sigil_proto::SecretString;
use tonic::transport::Channel;

/// A verifier client connected to `s`'s gRPC address.
pub async fn verifier(s: &TestServer) -> VerifierClient<Channel> {
    let ep = s
        .grpc_endpoint
        .clone()
        .expect("server printed its gRPC address");
    VerifierClient::connect(ep).await.expect("connect to gRPC")
}

/// `Verify` of `token`, requiring `claim` when given; panics on a gRPC error.
pub async fn verify(
    c: &mut VerifierClient<Channel>,
    token: &SecretString,
    claim: Option<&str>,
) -> VerifyResponse {
    c.verify(VerifyRequest {
        token: token.expose().to_string(),
        required_claim: claim.map(str::to_string),
        ..Default::default()
    })
    .await
    .expect("verify")
    .into_inner()
}
