//! The certificate authorities the AWS SDK and the webhooks trust: Mozilla's root program,
//! compiled into the binary (`webpki-root-certs`), instead of the system's bundle and
//! certificate folder. Reading and parsing those files was more than half of a cold start, and
//! AWS endpoints (and the client apps' webhooks) use public CAs.

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use base64::Engine as _;
use std::sync::{Arc, LazyLock, OnceLock};

/// The roots as one PEM bundle, the form the SDK's TLS settings take. Encoded once, at the
/// first request (see [`ConnectorAtFirstUse`]).
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
/// in every function's binary), trusting the compiled-in roots only. Nothing of it is built
/// here: the roots' PEM bundle, the TLS settings and the hyper client are made when the first
/// request asks for a connector (see [`ConnectorAtFirstUse`]), once for every client that
/// shares this configuration.
pub fn sdk_http_client() -> SharedHttpClient {
    SharedHttpClient::new(ConnectorAtFirstUse(OnceLock::new()))
}

/// The SDK's hyper client over the compiled-in roots, as [`sdk_http_client`] builds it.
fn https_client() -> SharedHttpClient {
    let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(pem_bundle());
    let context = TlsContext::builder().with_trust_store(trust).build().expect("a TLS context from a trust store");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

/// The SDK's hyper client, made at the first request rather than at the init. The SDK's TLS
/// settings take the roots as PEM only, so a cold start spent 0.2 ms encoding the compiled-in
/// roots to PEM and copying them into the TLS settings (BENCHMARKS.md, "Cold start: the SDK's
/// setup apart"), only for the connector that decodes them again, which the SDK builds at the
/// first request anyway: the warm-up's, on its own task beside the rest of the init. Also
/// leaves out the hyper client's check at each SDK client's construction, which built a whole
/// TLS connector (every root decoded and parsed) only to drop it, once per SDK client.
#[derive(Debug)]
struct ConnectorAtFirstUse(OnceLock<SharedHttpClient>);

impl ConnectorAtFirstUse {
    fn client(&self) -> &SharedHttpClient {
        self.0.get_or_init(https_client)
    }
}

impl HttpClient for ConnectorAtFirstUse {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.client().http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        // Asked for by the user-agent interceptor, per request.
        self.client().connector_metadata()
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
