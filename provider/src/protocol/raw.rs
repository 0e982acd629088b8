//! gRPC over raw bytes: the codec that lets the front forward a call to
//! tf-provider without decoding it, the glue that serves a handler over
//! bytes, and go-plugin's own services (`plugin.GRPCController`,
//! `plugin.GRPCStdio`, `plugin.GRPCBroker`), which need no message decoded:
//! Shutdown ends the process's serving, stdio and broker streams stay empty
//! (the provider writes nothing to them and dials no broker) until then.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, Bytes};
use tokio_util::sync::CancellationToken;
use tonic::body::BoxBody;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::{http, Body, Service};
use tonic::server::{Grpc, NamedService};
use tonic::Status;

/// Messages larger than tonic's 4 MiB default pass (Terraform sends whole
/// states and schemas).
pub const MAX_MESSAGE: usize = 256 << 20;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A codec whose messages are their encoded bytes.
#[derive(Clone, Copy, Default)]
pub struct Raw;

impl Codec for Raw {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = Raw;
    type Decoder = Raw;

    fn encoder(&mut self) -> Raw {
        Raw
    }

    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

fn grpc() -> Grpc<Raw> {
    Grpc::new(Raw).apply_max_message_size_config(Some(MAX_MESSAGE), Some(MAX_MESSAGE))
}

/// Serves one unary call whose request and answer are bytes.
pub async fn unary<B, F, Fut>(req: http::Request<B>, handler: F) -> http::Response<BoxBody>
where
    B: Body + Send + 'static,
    B::Error: Into<BoxError> + Send,
    F: FnOnce(Bytes) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Bytes, Status>> + Send + 'static,
{
    let mut handler = Some(handler);
    let svc = tower::service_fn(move |r: tonic::Request<Bytes>| {
        let h = handler.take();
        async move {
            match h {
                Some(h) => h(r.into_inner()).await.map(tonic::Response::new),
                None => Err(Status::internal("called twice")),
            }
        }
    });
    grpc().unary(svc, req).await
}

/// Sends one unary call as bytes to `channel` and answers its bytes.
pub async fn call(
    channel: tonic::transport::Channel,
    path: &str,
    body: Bytes,
) -> Result<Bytes, Status> {
    let path = http::uri::PathAndQuery::try_from(path)
        .map_err(|_| Status::unimplemented(format!("bad method path {path:?}")))?;
    let mut client = tonic::client::Grpc::new(channel)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    client
        .ready()
        .await
        .map_err(|e| Status::unavailable(format!("the inner provider server: {e}")))?;
    Ok(client
        .unary(tonic::Request::new(body), path, Raw)
        .await?
        .into_inner())
}

/// A stream that yields nothing and ends when `stop` is cancelled.
fn until(
    stop: CancellationToken,
) -> Pin<Box<dyn futures::Stream<Item = Result<Bytes, Status>> + Send + 'static>> {
    use futures::StreamExt;
    Box::pin(
        futures::stream::once(async move { stop.cancelled_owned().await })
            .filter_map(|_| async { None }),
    )
}

macro_rules! plugin_service {
    ($ty:ident, $name:literal, |$stop:ident, $req:ident, $path:ident| $body:expr) => {
        #[derive(Clone)]
        pub struct $ty(pub CancellationToken);

        impl NamedService for $ty {
            const NAME: &'static str = $name;
        }

        impl<B> Service<http::Request<B>> for $ty
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

            fn call(&mut self, $req: http::Request<B>) -> Self::Future {
                let $stop = self.0.clone();
                let $path = $req.uri().path().to_string();
                Box::pin(async move { Ok($body) })
            }
        }
    };
}

plugin_service!(Controller, "plugin.GRPCController", |stop, req, path| {
    match path.as_str() {
        "/plugin.GRPCController/Shutdown" => {
            unary(req, move |_| async move {
                stop.cancel();
                Ok(Bytes::new())
            })
            .await
        }
        _ => Status::unimplemented(path).into_http(),
    }
});

plugin_service!(Stdio, "plugin.GRPCStdio", |stop, req, path| {
    match path.as_str() {
        "/plugin.GRPCStdio/StreamStdio" => {
            let svc = tower::service_fn(move |_: tonic::Request<Bytes>| {
                let s = until(stop.clone());
                async move { Ok::<_, Status>(tonic::Response::new(s)) }
            });
            grpc().server_streaming(svc, req).await
        }
        _ => Status::unimplemented(path).into_http(),
    }
});

plugin_service!(Broker, "plugin.GRPCBroker", |stop, req, path| {
    match path.as_str() {
        "/plugin.GRPCBroker/StartStream" => {
            let svc = tower::service_fn(move |_: tonic::Request<tonic::Streaming<Bytes>>| {
                let s = until(stop.clone());
                async move { Ok::<_, Status>(tonic::Response::new(s)) }
            });
            grpc().streaming(svc, req).await
        }
        _ => Status::unimplemented(path).into_http(),
    }
});
