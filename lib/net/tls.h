// TLS (mbedTLS) as a Stream over another Stream, for RTMPS: the RTMP code
// sees decrypted bytes and never knows that TLS is there.
#pragma once

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "net/stream.h"

namespace lg::net {

struct TlsConfig {
  std::string cert_file;     // PEM: the server certificate first, then its chain
  std::string key_file;      // PEM or DER private key (EC or RSA)
  std::string key_password;  // empty when the key is not encrypted
};

// The server's identity and policy, shared by every connection of one
// listener: TLS 1.2 or later, ECDHE key exchange with AEAD ciphers only,
// no client certificates, no renegotiation. Its settings never change after
// create(); its connections run on one loop thread, like the listener's.
class TlsContext {
  struct Token {};  // keeps construction to create()

 public:
  // Loads and checks the certificate and key. On failure returns nullptr
  // and sets `error` to a sentence naming the file and the problem.
  static std::unique_ptr<TlsContext> create(const TlsConfig &config, std::string &error);
  explicit TlsContext(Token);
  ~TlsContext();
  TlsContext(const TlsContext &) = delete;
  TlsContext &operator=(const TlsContext &) = delete;

  // SHA-256 of the leaf certificate, "AB:CD:..." as openssl prints it.
  const std::string &fingerprint_sha256() const { return fingerprint_; }

 private:
  friend class TlsStream;

  // mbedTLS keeps pointers between these, so the object never moves.
  mbedtls_entropy_context entropy_;
  mbedtls_ctr_drbg_context drbg_;
  mbedtls_x509_crt chain_;
  mbedtls_pk_context key_;
  mbedtls_ssl_config conf_;
  std::string fingerprint_;
};

// The server side of one TLS connection over an accepted stream. The same
// contract as the plain TcpStream: start() begins reading; write() before
// the handshake completes is queued and encrypted once it does; close(true)
// sends close_notify and lets the inner stream flush; the handler may call
// close() or destroy the stream from inside its callbacks.
//
// Reported closes: the peer's close_notify or EOF after the handshake is
// LG_OK; a handshake or record failure is LG_E_TLS with the reason; a peer
// that floods the handshake is LG_E_LIMIT; errors of the inner stream pass
// through unchanged.
class TlsStream final : public Stream, private Stream::Handler {
 public:
  // Names the Stream's handler; the private base is injected under the same name.
  using Handler = Stream::Handler;

  // A client's handshake messages (no client certificates are asked for)
  // fit easily; more than this before the handshake completes is abuse.
  static constexpr size_t kMaxHandshakeBytes = 64 * 1024;
  // Unprocessed ciphertext: one read of the inner stream plus one partial
  // record (16 KiB of content and its header, padding and tag).
  static constexpr size_t kMaxBufferedCiphertext = 64 * 1024 + 16 * 1024 + 2048;

  TlsStream(std::shared_ptr<const TlsContext> context, std::unique_ptr<Stream> inner);
  ~TlsStream() override;
  TlsStream(const TlsStream &) = delete;
  TlsStream &operator=(const TlsStream &) = delete;

  void start(Handler *handler) override;
  void write(std::vector<uint8_t> bytes) override;
  // Plaintext waiting for the handshake plus ciphertext the inner stream
  // has not handed to the kernel yet.
  size_t queued_bytes() const override;
  void close(bool flush = true) override;
  const std::string &remote_address() const override;

  bool handshake_done() const { return handshake_done_; }
  // "TLSv1.2" and the suite's name in mbedTLS's form
  // ("TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"); empty before the handshake.
  std::string protocol_version() const;
  std::string cipher_suite() const;

 private:
  void on_stream_data(std::span<const uint8_t> bytes) override;
  void on_stream_closed(lg_status status, std::string_view reason) override;

  static int bio_send(void *self, const unsigned char *buf, size_t len);
  static int bio_recv(void *self, unsigned char *buf, size_t len);

  // Each returns false when the stream failed, closed or was destroyed.
  bool continue_handshake();
  bool read_records();
  bool encrypt(std::span<const uint8_t> bytes);
  void flush_ciphertext();
  void fail(lg_status status, std::string reason);
  void report_closed(lg_status status, std::string_view reason);
  std::string describe_error(int code) const;

  std::shared_ptr<const TlsContext> context_;
  std::unique_ptr<Stream> inner_;
  Handler *handler_ = nullptr;
  mbedtls_ssl_context ssl_;
  // Destroyed with the stream; callbacks hold a weak reference to notice
  // that the handler destroyed the stream under them.
  std::shared_ptr<char> alive_ = std::make_shared<char>();

  std::vector<uint8_t> in_;  // ciphertext from the peer; in_pos_ is consumed
  size_t in_pos_ = 0;
  std::vector<uint8_t> out_;                   // ciphertext for the peer, handed on after each step
  std::vector<std::vector<uint8_t>> pending_;  // plaintext written before the handshake
  size_t pending_bytes_ = 0;
  size_t received_ = 0;
  size_t handshake_consumed_ = 0;
  bool over_budget_ = false;
  bool handshake_done_ = false;
  bool failed_ = false;
  bool closed_ = false;
  bool close_notify_sent_ = false;
  std::array<uint8_t, 16 * 1024> plain_{};
};

}  // namespace lg::net
