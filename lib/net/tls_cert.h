// Certificates for the TLS listener: a self-signed one for a server that has
// none configured, and the SHA-256 fingerprint that lets a user pin it in an
// encoder that cannot verify a private certificate chain.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace lg::net {

// Writes a new ECDSA P-256 key and a self-signed X.509 v3 certificate for
// it (SHA-256 signature, random serial, valid from a day ago for ten years,
// subjectAltName `common_name`, localhost and 127.0.0.1, serverAuth only).
// `common_name` is a host name or an IP address. Each file is written
// atomically; the key file is created with mode 0600 and the certificate
// with 0644. Returns false and sets `error` on failure.
bool generate_self_signed(const std::string &cert_path, const std::string &key_path,
                          const std::string &common_name, std::string &error);

// Sets `cert_path` and `key_path` to `dir`/cert.pem and `dir`/key.pem,
// reusing them when both load and belong together, else generating them
// (for "localhost"). Creates `dir` with mode 0700 when it does not exist.
bool ensure_self_signed(const std::string &dir, std::string &cert_path, std::string &key_path,
                        std::string &error);

// The fingerprint of the first certificate in a PEM or DER file, formatted
// as fingerprint_sha256() does; empty with `error` set on failure.
std::string fingerprint_sha256_of_file(const std::string &cert_path, std::string &error);

// SHA-256 of a DER certificate as "AB:CD:...", the form `openssl x509
// -fingerprint -sha256` prints.
std::string fingerprint_sha256(std::span<const uint8_t> der);

// mbedTLS's description of one of its error codes, with the code in hex.
std::string mbedtls_error_text(int code);

// Why mbedTLS could not load `path`: the system's reason when the file
// cannot even be opened (mbedTLS only says "read/write of file failed"),
// else mbedTLS's description of `code`.
std::string file_error_text(const std::string &path, int code);

}  // namespace lg::net
