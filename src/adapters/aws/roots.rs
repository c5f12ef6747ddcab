//! The certificate authorities the AWS SDK and the webhooks trust: Mozilla's root program,
//! compiled into the binary (`webpki-root-certs`), instead of the system's bundle and
//! certificate folder. Reading and parsing those files was more than half of a cold start, and
//! AWS endpoints (and the client apps' webhooks) use public CAs.

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use base64::Engine as _;
use std::sync::{Arc, LazyLock};

/// The roots as one PEM bundle, the form the SDK's TLS settings take. Encoded once, at the
/// first client built.
fn pem_bundle() -> Vec<u8> {
    let mut pem = String::with_capacity(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() * 2_200);
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem.into_bytes()
}

/// The SDK's HTTPS client, rustls over ring (not the SDK's default aws-lc, a larger C library
/// in every function's binary), trusting the compiled-in roots only. Its TLS connector (the
/// roots parsed into rustls' store) is built at the first request, once for every client that
/// shares this configuration (see [`ConnectorAtFirstUse`]).
pub fn sdk_http_client() -> SharedHttpClient {
    let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(pem_bundle());
    let context = TlsContext::builder().with_trust_store(trust).build().expect("a TLS context from a trust store");
    let client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https();
    SharedHttpClient::new(ConnectorAtFirstUse(client))
}

/// The SDK's hyper client without its check at each client's construction: that check builds a
/// whole TLS connector (every root certificate decoded and parsed) only to drop it, once per SDK
/// client, which was most of a function's SDK setup at a cold start (five clients). The
/// connector the requests use is built and cached by the wrapped client at the first request
/// (the init's warm-up calls, on their own task), as before.
#[derive(Debug)]
struct ConnectorAtFirstUse(SharedHttpClient);

impl HttpClient for ConnectorAtFirstUse {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// The roots as rustls wants them, parsed once, when the first webhook is sent.
pub fn root_store() -> Arc<rustls::RootCertStore> {
    static ROOTS: LazyLock<Arc<rustls::RootCertStore>> = LazyLock::new(|| {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
        Arc::new(roots)
    });
    ROOTS.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;

    #[test]
    fn every_compiled_in_root_parses() {
        let pem = pem_bundle();
        let parsed = rustls::pki_types::CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>();
        let parsed = parsed.expect("the bundle is PEM");
        assert_eq!(parsed.len(), webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
        assert!(parsed.len() > 100, "Mozilla's program has well over 100 roots");
        assert_eq!(root_store().len(), parsed.len(), "each root is a usable trust anchor");
    }
}
