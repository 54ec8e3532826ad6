//! The TLS crypto provider, chosen by a cargo feature.
//!
//! reqwest's `rustls` feature always compiles `aws-lc-rs`, whose C build is the
//! slowest step of a cold build; `ring` builds faster and is the default here. With the
//! `aws-lc-rs` feature (and default features off) that provider is used instead. With
//! neither, install a rustls `CryptoProvider` yourself before building a client.

/// Makes the feature's provider rustls' process default, unless one is installed
/// already (a provider the program chose wins). Called before every HTTP client is
/// built; cheap after the first call.
pub(crate) fn install_default_provider() {
    #[cfg(feature = "aws-lc-rs")]
    let provider = Some(rustls::crypto::aws_lc_rs::default_provider());
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    let provider = Some(rustls::crypto::ring::default_provider());
    #[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
    let provider: Option<rustls::crypto::CryptoProvider> = None;
    if let Some(provider) = provider
        && rustls::crypto::CryptoProvider::get_default().is_none()
    {
        // Fails only if another thread installed one meanwhile, which is as good.
        let _ = provider.install_default();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_provider_is_installed_and_a_second_call_is_harmless() {
        super::install_default_provider();
        super::install_default_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
