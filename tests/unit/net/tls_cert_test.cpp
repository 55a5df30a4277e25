// Self-signed certificates and fingerprints, checked against the openssl
// command-line tool as the independent judge of what was written.
#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "net/tls.h"
#include "net/tls_cert.h"

using lg::net::ensure_self_signed;
using lg::net::fingerprint_sha256_of_file;
using lg::net::generate_self_signed;
using lg::net::TlsConfig;
using lg::net::TlsContext;

namespace {

struct CertTempDir {
  std::string path;
  CertTempDir() {
    char tmpl[] = "/tmp/lg_tls_cert_XXXXXX";
    const char *p = mkdtemp(tmpl);
    REQUIRE(p != nullptr);
    path = p;
  }
  ~CertTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string &name) const { return path + "/" + name; }
};

// Runs a shell command with a hard time limit; returns stdout and stderr.
std::string shell(const std::string &command) {
  std::string out;
  FILE *pipe = ::popen(("timeout 20 " + command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  ::pclose(pipe);
  return out;
}

std::string openssl_fingerprint(const std::string &cert) {
  // OpenSSL 3 prints "sha256 Fingerprint=AB:...", older ones "SHA256 ...".
  const std::string out = shell("openssl x509 -in " + cert + " -noout -fingerprint -sha256");
  const auto eq = out.find('=');
  REQUIRE(eq != std::string::npos);
  std::string fp = out.substr(eq + 1);
  while (!fp.empty() && (fp.back() == '\n' || fp.back() == '\r')) fp.pop_back();
  return fp;
}

unsigned mode_of(const std::string &path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

void write_text(const std::string &path, const std::string &text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("tls_cert: a self-signed certificate as openssl reads it", "[net][tls][cert]") {
  CertTempDir dir;
  const std::string cert = dir.file("cert.pem");
  const std::string key = dir.file("key.pem");
  std::string error;
  REQUIRE(generate_self_signed(cert, key, "ingest.example.com", error));
  CHECK(error.empty());

  CHECK(mode_of(key) == 0600);
  CHECK(mode_of(cert) == 0644);
  // Nothing is left behind from the temporary files.
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path),
                      std::filesystem::directory_iterator()) == 2);

  const std::string ours = fingerprint_sha256_of_file(cert, error);
  INFO(error);
  REQUIRE(ours.size() == 32 * 3 - 1);
  CHECK(openssl_fingerprint(cert) == ours);
  auto ctx = TlsContext::create(TlsConfig{cert, key, ""}, error);
  INFO(error);
  REQUIRE(ctx);
  CHECK(ctx->fingerprint_sha256() == ours);

  const std::string text = shell("openssl x509 -in " + cert + " -noout -text");
  INFO(text);
  CHECK_THAT(text, Catch::Contains("Version: 3 (0x2)"));
  CHECK_THAT(text, Catch::Contains("Signature Algorithm: ecdsa-with-SHA256"));
  CHECK_THAT(text, Catch::Contains("ASN1 OID: prime256v1"));
  CHECK_THAT(text, Catch::Contains("Subject: CN = ingest.example.com"));
  CHECK_THAT(text, Catch::Contains("Issuer: CN = ingest.example.com"));
  CHECK_THAT(text, Catch::Contains("DNS:ingest.example.com, DNS:localhost, IP Address:127.0.0.1"));
  CHECK_THAT(text, Catch::Contains("CA:FALSE"));
  CHECK_THAT(text, Catch::Contains("Digital Signature"));
  CHECK_THAT(text, Catch::Contains("TLS Web Server Authentication"));
  CHECK_THAT(text, Catch::Contains("X509v3 Subject Key Identifier"));

  // The self-signature verifies, and the ECDSA algorithm carries no NULL
  // parameters (RFC 5758; strict verifiers such as webpki insist).
  CHECK_THAT(shell("openssl verify -check_ss_sig -x509_strict -CAfile " + cert + " " + cert),
             Catch::Contains(cert + ": OK"));
  const std::string hex =
      shell("openssl x509 -in " + cert + " -outform DER | od -An -tx1 -v | tr -d ' \\n'");
  CHECK_THAT(hex, Catch::Contains("300a06082a8648ce3d040302"));
  CHECK_THAT(hex, !Catch::Contains("2a8648ce3d0403020500"));

  // Valid now, still valid in 3650 days, gone after 3653.
  CHECK_THAT(shell("openssl x509 -in " + cert + " -noout -checkend 0"),
             Catch::Contains("will not expire"));
  CHECK_THAT(shell("openssl x509 -in " + cert + " -noout -checkend 315360000"),
             Catch::Contains("will not expire"));
  CHECK_THAT(shell("openssl x509 -in " + cert + " -noout -checkend 315619200"),
             Catch::Contains("will expire"));
  // Backdated by about a day for clients whose clocks lag.
  const std::string dates = shell("openssl x509 -in " + cert + " -noout -startdate");
  CHECK_THAT(dates, Catch::StartsWith("notBefore="));

  // The key is a P-256 key that openssl accepts and that matches.
  CHECK_THAT(shell("openssl ec -in " + key + " -noout -check"), Catch::Contains("EC Key valid"));
  CHECK(shell("openssl pkey -in " + key + " -pubout") ==
        shell("openssl x509 -in " + cert + " -noout -pubkey"));

  // Two certificates never share a serial or a key.
  const std::string cert2 = dir.file("cert2.pem");
  const std::string key2 = dir.file("key2.pem");
  REQUIRE(generate_self_signed(cert2, key2, "ingest.example.com", error));
  CHECK(shell("openssl x509 -in " + cert + " -noout -serial") !=
        shell("openssl x509 -in " + cert2 + " -noout -serial"));
  CHECK(fingerprint_sha256_of_file(cert2, error) != ours);
}

TEST_CASE("tls_cert: an IP address as the common name goes into an IP entry", "[net][tls][cert]") {
  CertTempDir dir;
  std::string error;
  REQUIRE(generate_self_signed(dir.file("c.pem"), dir.file("k.pem"), "192.0.2.7", error));
  CHECK_THAT(shell("openssl x509 -in " + dir.file("c.pem") + " -noout -ext subjectAltName"),
             Catch::Contains("IP Address:192.0.2.7, DNS:localhost, IP Address:127.0.0.1"));

  REQUIRE(generate_self_signed(dir.file("c.pem"), dir.file("k.pem"), "localhost", error));
  CHECK_THAT(shell("openssl x509 -in " + dir.file("c.pem") + " -noout -ext subjectAltName"),
             Catch::Contains("DNS:localhost, IP Address:127.0.0.1"));

  // A name that could smuggle extra attributes into the subject is refused.
  CHECK_FALSE(generate_self_signed(dir.file("c2.pem"), dir.file("k2.pem"), "a,O=Evil", error));
  CHECK_THAT(error, Catch::Contains("neither a host name nor an IP address"));
  CHECK_FALSE(std::filesystem::exists(dir.file("k2.pem")));
}

TEST_CASE("tls_cert: ensure_self_signed creates once, then reuses", "[net][tls][cert]") {
  CertTempDir tmp;
  const std::string dir = tmp.file("state/tls");
  std::string cert, key, error;
  REQUIRE(ensure_self_signed(dir, cert, key, error));
  CHECK(cert == dir + "/cert.pem");
  CHECK(key == dir + "/key.pem");
  CHECK(mode_of(dir) == 0700);
  CHECK(mode_of(key) == 0600);
  const std::string first = fingerprint_sha256_of_file(cert, error);
  REQUIRE_FALSE(first.empty());

  std::string cert2, key2;
  REQUIRE(ensure_self_signed(dir, cert2, key2, error));
  CHECK(cert2 == cert);
  CHECK(fingerprint_sha256_of_file(cert2, error) == first);

  SECTION("a lost key means a new pair") {
    std::filesystem::remove(key);
    REQUIRE(ensure_self_signed(dir, cert2, key2, error));
    const std::string second = fingerprint_sha256_of_file(cert2, error);
    CHECK(second != first);
    CHECK(TlsContext::create(TlsConfig{cert2, key2, ""}, error) != nullptr);
  }
  SECTION("a key of another pair means a new pair") {
    REQUIRE(generate_self_signed(tmp.file("other.pem"), tmp.file("other.key"), "localhost", error));
    std::filesystem::copy_file(tmp.file("other.key"), key,
                               std::filesystem::copy_options::overwrite_existing);
    REQUIRE(ensure_self_signed(dir, cert2, key2, error));
    CHECK(fingerprint_sha256_of_file(cert2, error) != first);
    CHECK(TlsContext::create(TlsConfig{cert2, key2, ""}, error) != nullptr);
  }
  SECTION("a path that is a file is refused") {
    write_text(tmp.file("plain"), "x");
    CHECK_FALSE(ensure_self_signed(tmp.file("plain"), cert2, key2, error));
    CHECK_THAT(error, Catch::Contains("is not a directory"));
  }
}

TEST_CASE("tls_cert: TlsContext says precisely what is wrong", "[net][tls][cert]") {
  CertTempDir dir;
  std::string error;
  const std::string cert = dir.file("cert.pem");
  const std::string key = dir.file("key.pem");
  REQUIRE(generate_self_signed(cert, key, "localhost", error));

  SECTION("missing certificate file") {
    CHECK(TlsContext::create(TlsConfig{dir.file("nope.pem"), key, ""}, error) == nullptr);
    CHECK(error ==
          "cannot read certificate file " + dir.file("nope.pem") + ": No such file or directory");
    CHECK(fingerprint_sha256_of_file(dir.file("nope.pem"), error).empty());
    CHECK_THAT(error, Catch::EndsWith("No such file or directory"));
  }
  SECTION("certificate file that is not a certificate") {
    write_text(dir.file("junk.pem"), "hello\n");
    CHECK(TlsContext::create(TlsConfig{dir.file("junk.pem"), key, ""}, error) == nullptr);
    CHECK_THAT(error, Catch::StartsWith("cannot read certificate file " + dir.file("junk.pem") +
                                        ": X509 - "));
  }
  SECTION("missing key file") {
    CHECK(TlsContext::create(TlsConfig{cert, dir.file("nokey.pem"), ""}, error) == nullptr);
    CHECK(error ==
          "cannot read private key file " + dir.file("nokey.pem") + ": No such file or directory");
  }
  SECTION("key of another certificate") {
    REQUIRE(generate_self_signed(dir.file("c2.pem"), dir.file("k2.pem"), "localhost", error));
    CHECK(TlsContext::create(TlsConfig{cert, dir.file("k2.pem"), ""}, error) == nullptr);
    CHECK(error ==
          "private key file " + dir.file("k2.pem") + " does not match certificate file " + cert);
  }
  SECTION("encrypted key, OpenSSL 3's default PKCS#8 form") {
    const std::string enc = dir.file("enc8.pem");
    shell("openssl pkey -in " + key + " -aes256 -passout pass:s3cret -out " + enc);
    REQUIRE(std::filesystem::exists(enc));
    CHECK(TlsContext::create(TlsConfig{cert, enc, "s3cret"}, error) == nullptr);
    CHECK_THAT(error, Catch::StartsWith("private key file " + enc +
                                        " is encrypted with a scheme mbedTLS cannot decrypt"));
  }
  SECTION("encrypted key, traditional PEM form") {
    const std::string enc = dir.file("enc.pem");
    shell("openssl pkey -in " + key + " -traditional -aes256 -passout pass:s3cret -out " + enc);
    REQUIRE(std::filesystem::exists(enc));
    CHECK(TlsContext::create(TlsConfig{cert, enc, ""}, error) == nullptr);
    CHECK(error == "private key file " + enc + " is encrypted and no password was given");
    CHECK(TlsContext::create(TlsConfig{cert, enc, "wrong"}, error) == nullptr);
    CHECK(error == "wrong password for private key file " + enc);
    auto ctx = TlsContext::create(TlsConfig{cert, enc, "s3cret"}, error);
    INFO(error);
    REQUIRE(ctx);
    CHECK(ctx->fingerprint_sha256() == openssl_fingerprint(cert));
  }
}
