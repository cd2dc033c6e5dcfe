//! The verifiers against certificates made here: a self-signed server
//! certificate marked as a CA (what `openssl req -x509` makes), a CA and a
//! server certificate it signed.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::*;

fn self_signed_ca(names: &[&str]) -> CertificateDer<'static> {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().der().clone()
}

fn ca_and_leaf(names: &[&str]) -> (CertificateDer<'static>, CertificateDer<'static>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let leaf_params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    let leaf = leaf_params
        .signed_by(&KeyPair::generate().unwrap(), &ca)
        .unwrap();
    (ca.der().clone(), leaf.der().clone())
}

fn pem_file(certs: &[&CertificateDer<'_>]) -> tempfile::NamedTempFile {
    use std::io::Write;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    for cert in certs {
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, cert.as_ref());
        writeln!(file, "-----BEGIN CERTIFICATE-----").unwrap();
        for chunk in b64.as_bytes().chunks(64) {
            writeln!(file, "{}", std::str::from_utf8(chunk).unwrap()).unwrap();
        }
        writeln!(file, "-----END CERTIFICATE-----").unwrap();
    }
    file
}

fn verifier(trust: &Trust, check_name: bool) -> Arc<dyn ServerCertVerifier> {
    super::verifier(
        trust,
        check_name,
        Arc::new(rustls::crypto::ring::default_provider()),
    )
    .unwrap()
}

fn verify(
    v: &Arc<dyn ServerCertVerifier>,
    cert: &CertificateDer<'_>,
    name: &str,
) -> Result<(), rustls::Error> {
    let name = ServerName::try_from(name.to_owned()).unwrap();
    v.verify_server_cert(cert, &[], &name, &[], UnixTime::now())
        .map(drop)
}

#[test]
fn a_self_signed_ca_certificate_given_as_ca_is_pinned() {
    let cert = self_signed_ca(&["127.0.0.1", "cache.internal"]);
    let file = pem_file(&[&cert]);
    let v = verifier(&Trust::File(file.path().into()), true);
    verify(&v, &cert, "127.0.0.1").expect("the pinned certificate");
    verify(&v, &cert, "cache.internal").expect("its other name");
    let err = verify(&v, &cert, "other.internal").unwrap_err();
    let problem = certificate_problem(&err).unwrap();
    assert_eq!(
        problem,
        "it was issued for 127.0.0.1 or cache.internal, not for other.internal"
    );
}

#[test]
fn another_self_signed_certificate_is_refused_in_words() {
    let pinned = self_signed_ca(&["127.0.0.1"]);
    let impostor = self_signed_ca(&["127.0.0.1"]);
    let file = pem_file(&[&pinned]);
    let v = verifier(&Trust::File(file.path().into()), true);
    let err = verify(&v, &impostor, "127.0.0.1").unwrap_err();
    let text = explain_certificate_problem(
        &err,
        "Redis at rediss://127.0.0.1:6380",
        &Configured::CaFile(file.path().into()),
        super::Advice {
            settings: "the store's ",
            unverified: "set \"tls\": {\"rejectUnauthorized\": false}",
        },
    )
    .unwrap();
    assert!(
        text.contains("CA:TRUE") && text.contains("holds neither"),
        "{text}"
    );
}

#[test]
fn a_ca_file_verifies_the_certificates_it_signed_and_only_by_their_names() {
    let (ca, leaf) = ca_and_leaf(&["db.internal"]);
    let file = pem_file(&[&ca]);
    let full = verifier(&Trust::File(file.path().into()), true);
    verify(&full, &leaf, "db.internal").expect("signed by the CA");
    assert!(verify(&full, &leaf, "127.0.0.1").is_err());
    let chain_only = verifier(&Trust::File(file.path().into()), false);
    verify(&chain_only, &leaf, "127.0.0.1").expect("verify-ca ignores the name");
    let (_, stranger) = ca_and_leaf(&["db.internal"]);
    assert!(
        verify(&chain_only, &stranger, "db.internal").is_err(),
        "another CA's leaf"
    );
}

#[test]
fn the_system_roots_do_not_trust_a_self_signed_certificate_and_unverified_trusts_any() {
    let cert = self_signed_ca(&["127.0.0.1"]);
    let system = verifier(&Trust::System, true);
    assert!(verify(&system, &cert, "127.0.0.1").is_err());
    let any = verifier(&Trust::Insecure, true);
    verify(&any, &cert, "elsewhere.example").expect("unverified");
}

#[test]
fn a_ca_file_that_is_missing_or_holds_no_certificate_is_named() {
    let err = client_config(&Trust::File("/nonexistent/ca.pem".into()), true).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    let empty = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(empty.path(), "not a certificate\n").unwrap();
    let err = client_config(&Trust::File(empty.path().into()), true).unwrap_err();
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
}
