//! Compiles the gRPC verification API. Needs `protoc` (Debian: protobuf-compiler).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_build::configure()
        .file_descriptor_set_path(out.join("sigil_v1_descriptor.bin"))
        .compile_protos(&["sigil/v1/verifier.proto"], &["."])?;
    println!("cargo:rerun-if-changed=sigil/v1/verifier.proto");
    Ok(())
}
