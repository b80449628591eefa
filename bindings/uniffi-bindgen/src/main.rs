//! `uniffi-bindgen generate --library …`: the generator at the same uniffi version as the
//! library it reads (the metadata format is versioned).
fn main() {
    uniffi::uniffi_bindgen_main()
}
