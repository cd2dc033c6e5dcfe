//! Certificates for TLS servers started by tests: a throwaway CA and server
//! certificates it signs, written as PEM files into a temporary directory.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

/// A test certificate authority and the PEM files of one server
/// certificate it signed (for `127.0.0.1` and `localhost`).
pub struct TestCerts {
    dir: tempfile::TempDir,
}

impl TestCerts {
    /// A new CA and a server certificate signed by it, in a new directory.
    pub fn new() -> TestCerts {
        TestCerts::for_names(&["localhost", "127.0.0.1"])
    }

    /// Like [`TestCerts::new`], the server certificate valid for `names` only.
    pub fn for_names(names: &[&str]) -> TestCerts {
        let dir = tempfile::tempdir().expect("a directory for test certificates");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "connect test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().expect("a CA key");
        let ca = CertifiedIssuer::self_signed(params, ca_key).expect("a CA certificate");

        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut server = CertificateParams::new(names.clone()).expect("server parameters");
        server.distinguished_name.push(
            DnType::CommonName,
            names.first().map_or("server", |n| n.as_str()),
        );
        let server_key = KeyPair::generate().expect("a server key");
        let cert = server
            .signed_by(&server_key, &ca)
            .expect("a server certificate");

        let certs = TestCerts { dir };
        std::fs::write(certs.ca(), ca.pem()).expect("write ca.pem");
        std::fs::write(certs.cert(), cert.pem()).expect("write server.pem");
        write_private(&certs.key(), &server_key.serialize_pem());
        certs
    }

    /// One self-signed server certificate marked as a CA (basic
    /// constraints CA:TRUE), as `openssl req -x509` makes it, for
    /// `127.0.0.1` and `localhost`: [`TestCerts::ca`] is that same
    /// certificate, which is how people pin such a server.
    pub fn self_signed() -> TestCerts {
        let dir = tempfile::tempdir().expect("a directory for test certificates");
        let names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        let mut params = CertificateParams::new(names).expect("certificate parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        let key = KeyPair::generate().expect("a key");
        let cert = params.self_signed(&key).expect("a self-signed certificate");
        let certs = TestCerts { dir };
        std::fs::write(certs.ca(), cert.pem()).expect("write ca.pem");
        std::fs::write(certs.cert(), cert.pem()).expect("write server.pem");
        write_private(&certs.key(), &key.serialize_pem());
        certs
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The CA certificate (what a client trusts).
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server certificate.
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    /// The server's private key (mode 0600).
    pub fn key(&self) -> PathBuf {
        self.dir.path().join("server-key.pem")
    }

    /// Gives the directory and its files to `uid` (a server that runs as
    /// another user must read its key).
    pub fn give_to(&self, uid: u32) {
        for path in [
            self.dir.path().to_path_buf(),
            self.ca(),
            self.cert(),
            self.key(),
        ] {
            std::os::unix::fs::chown(&path, Some(uid), None)
                .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
        }
    }
}

fn write_private(path: &Path, text: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .expect("create the key file");
    file.write_all(text.as_bytes()).expect("write the key file");
}
