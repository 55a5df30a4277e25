#include "net/tls.h"

#include <fmt/format.h>
#include <mbedtls/error.h>
#include <mbedtls/pkcs5.h>

#include <algorithm>
#include <cstring>

#include "net/tls_cert.h"

namespace lg::net {

namespace {

// Forward secrecy and AEAD only, in the server's order of preference (the
// server's order wins: mbedTLS is built without respecting the client's).
// ECDSA suites serve an EC certificate, RSA suites an RSA one.
constexpr int kCipherSuites[] = {
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
    MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
    MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
#endif
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    0,
};

constexpr mbedtls_ecp_group_id kCurves[] = {
    MBEDTLS_ECP_DP_CURVE25519,
    MBEDTLS_ECP_DP_SECP256R1,
    MBEDTLS_ECP_DP_SECP384R1,
    MBEDTLS_ECP_DP_NONE,
};

// Hashes for the server's ServerKeyExchange signature: no SHA-1.
constexpr int kSignatureHashes[] = {
    MBEDTLS_MD_SHA256,
    MBEDTLS_MD_SHA384,
    MBEDTLS_MD_SHA512,
    MBEDTLS_MD_NONE,
};

const char *alert_name(int description) {
  switch (description) {
    case MBEDTLS_SSL_ALERT_MSG_UNEXPECTED_MESSAGE:
      return "unexpected_message";
    case MBEDTLS_SSL_ALERT_MSG_BAD_RECORD_MAC:
      return "bad_record_mac";
    case MBEDTLS_SSL_ALERT_MSG_RECORD_OVERFLOW:
      return "record_overflow";
    case MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE:
      return "handshake_failure";
    case MBEDTLS_SSL_ALERT_MSG_BAD_CERT:
      return "bad_certificate";
    case MBEDTLS_SSL_ALERT_MSG_UNSUPPORTED_CERT:
      return "unsupported_certificate";
    case MBEDTLS_SSL_ALERT_MSG_CERT_REVOKED:
      return "certificate_revoked";
    case MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED:
      return "certificate_expired";
    case MBEDTLS_SSL_ALERT_MSG_CERT_UNKNOWN:
      return "certificate_unknown";
    case MBEDTLS_SSL_ALERT_MSG_ILLEGAL_PARAMETER:
      return "illegal_parameter";
    case MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA:
      return "unknown_ca";
    case MBEDTLS_SSL_ALERT_MSG_DECODE_ERROR:
      return "decode_error";
    case MBEDTLS_SSL_ALERT_MSG_DECRYPT_ERROR:
      return "decrypt_error";
    case MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION:
      return "protocol_version";
    case MBEDTLS_SSL_ALERT_MSG_INSUFFICIENT_SECURITY:
      return "insufficient_security";
    case MBEDTLS_SSL_ALERT_MSG_INTERNAL_ERROR:
      return "internal_error";
    case MBEDTLS_SSL_ALERT_MSG_INAPROPRIATE_FALLBACK:
      return "inappropriate_fallback";
    case MBEDTLS_SSL_ALERT_MSG_USER_CANCELED:
      return "user_canceled";
    case MBEDTLS_SSL_ALERT_MSG_UNRECOGNIZED_NAME:
      return "unrecognized_name";
    default:
      return "unknown alert";
  }
}

// A TLS connection starts with a handshake record (content type 22). What
// else a first byte is tells the operator which client went to the wrong
// port.
std::string not_tls_reason(uint8_t first) {
  std::string guess;
  if (first == 0x03 || first == 0x06) {
    guess = ", is it plain RTMP?";
  } else if (first >= 'A' && first <= 'Z') {
    guess = fmt::format(" '{}', is it plain HTTP?", static_cast<char>(first));
  } else if (first & 0x80) {
    guess = ", is it an SSL 2.0 hello from a very old client?";
  }
  return fmt::format(
      "TLS handshake failed: the peer did not send a TLS ClientHello (first byte 0x{:02X}{})",
      first, guess);
}

}  // namespace

TlsContext::TlsContext(Token) {
  mbedtls_entropy_init(&entropy_);
  mbedtls_ctr_drbg_init(&drbg_);
  mbedtls_x509_crt_init(&chain_);
  mbedtls_pk_init(&key_);
  mbedtls_ssl_config_init(&conf_);
}

TlsContext::~TlsContext() {
  mbedtls_ssl_config_free(&conf_);
  mbedtls_pk_free(&key_);
  mbedtls_x509_crt_free(&chain_);
  mbedtls_ctr_drbg_free(&drbg_);
  mbedtls_entropy_free(&entropy_);
}

std::unique_ptr<TlsContext> TlsContext::create(const TlsConfig &config, std::string &error) {
  auto ctx = std::make_unique<TlsContext>(Token{});
  static constexpr char kPersonal[] = "livegate tls server";
  int rc = mbedtls_ctr_drbg_seed(&ctx->drbg_, mbedtls_entropy_func, &ctx->entropy_,
                                 reinterpret_cast<const unsigned char *>(kPersonal),
                                 sizeof(kPersonal) - 1);
  if (rc != 0) {
    error = fmt::format("cannot seed the TLS random generator: {}", mbedtls_error_text(rc));
    return nullptr;
  }

  rc = mbedtls_x509_crt_parse_file(&ctx->chain_, config.cert_file.c_str());
  if (rc > 0) {
    error = fmt::format("cannot read certificate file {}: {} certificate(s) in it are malformed",
                        config.cert_file, rc);
    return nullptr;
  }
  if (rc < 0) {
    error = fmt::format("cannot read certificate file {}: {}", config.cert_file,
                        file_error_text(config.cert_file, rc));
    return nullptr;
  }

  rc =
      mbedtls_pk_parse_keyfile(&ctx->key_, config.key_file.c_str(),
                               config.key_password.empty() ? nullptr : config.key_password.c_str());
  if (rc == MBEDTLS_ERR_PK_PASSWORD_REQUIRED) {
    error =
        fmt::format("private key file {} is encrypted and no password was given", config.key_file);
    return nullptr;
  }
  if (rc == MBEDTLS_ERR_PK_PASSWORD_MISMATCH) {
    error = fmt::format("wrong password for private key file {}", config.key_file);
    return nullptr;
  }
  if (rc == MBEDTLS_ERR_PKCS5_FEATURE_UNAVAILABLE) {
    // OpenSSL 3 encrypts PKCS#8 keys with a PBKDF2-HMAC-SHA256 PRF, which
    // mbedTLS 2.28 cannot decrypt: a common surprise worth naming.
    error = fmt::format(
        "private key file {} is encrypted with a scheme mbedTLS cannot decrypt (such as PKCS#8 "
        "with PBKDF2-HMAC-SHA256, OpenSSL 3's default); store it in the traditional PEM form "
        "(openssl pkey -traditional) or unencrypted",
        config.key_file);
    return nullptr;
  }
  if (rc != 0) {
    error = fmt::format("cannot read private key file {}: {}", config.key_file,
                        file_error_text(config.key_file, rc));
    return nullptr;
  }
  if (!mbedtls_pk_can_do(&ctx->key_, MBEDTLS_PK_ECDSA) &&
      !mbedtls_pk_can_do(&ctx->key_, MBEDTLS_PK_RSA)) {
    error = fmt::format("private key file {} holds a {} key; only EC and RSA keys are supported",
                        config.key_file, mbedtls_pk_get_name(&ctx->key_));
    return nullptr;
  }
  if (mbedtls_pk_check_pair(&ctx->chain_.pk, &ctx->key_) != 0) {
    error = fmt::format("private key file {} does not match certificate file {}", config.key_file,
                        config.cert_file);
    return nullptr;
  }

  mbedtls_ssl_config *conf = &ctx->conf_;
  rc = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                   MBEDTLS_SSL_PRESET_DEFAULT);
  if (rc != 0) {
    error = fmt::format("cannot set up the TLS configuration: {}", mbedtls_error_text(rc));
    return nullptr;
  }
  mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &ctx->drbg_);
  mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
  mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_4);
#else
  // mbedTLS 2.28 (Debian 12's) has no TLS 1.3: 1.2 is the only version.
  mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
  mbedtls_ssl_conf_ciphersuites(conf, kCipherSuites);
  mbedtls_ssl_conf_curves(conf, kCurves);
  mbedtls_ssl_conf_sig_hashes(conf, kSignatureHashes);
  mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_NONE);
  // Renegotiation has a history of attacks and no use for a stream ingest.
  mbedtls_ssl_conf_renegotiation(conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
  rc = mbedtls_ssl_conf_own_cert(conf, &ctx->chain_, &ctx->key_);
  if (rc != 0) {
    error =
        fmt::format("cannot use certificate file {}: {}", config.cert_file, mbedtls_error_text(rc));
    return nullptr;
  }
  ctx->fingerprint_ =
      net::fingerprint_sha256(std::span<const uint8_t>(ctx->chain_.raw.p, ctx->chain_.raw.len));
  return ctx;
}

TlsStream::TlsStream(std::shared_ptr<const TlsContext> context, std::unique_ptr<Stream> inner)
    : context_(std::move(context)), inner_(std::move(inner)) {
  mbedtls_ssl_init(&ssl_);
  // Allocation failure of the record buffers leaves the context unusable;
  // the first handshake step then fails and reports it.
  if (mbedtls_ssl_setup(&ssl_, &context_->conf_) == 0) {
    mbedtls_ssl_set_bio(&ssl_, this, &TlsStream::bio_send, &TlsStream::bio_recv, nullptr);
  }
}

TlsStream::~TlsStream() {
  close(false);
  mbedtls_ssl_free(&ssl_);
}

void TlsStream::start(Handler *handler) {
  handler_ = handler;
  inner_->start(this);
}

void TlsStream::write(std::vector<uint8_t> bytes) {
  if (closed_ || failed_ || close_notify_sent_ || bytes.empty()) return;
  if (!handshake_done_) {
    pending_bytes_ += bytes.size();
    pending_.push_back(std::move(bytes));
    return;
  }
  if (encrypt(bytes)) flush_ciphertext();
}

size_t TlsStream::queued_bytes() const {
  return pending_bytes_ + out_.size() + inner_->queued_bytes();
}

void TlsStream::close(bool flush) {
  if (closed_) return;
  closed_ = true;
  handler_ = nullptr;
  pending_.clear();
  pending_bytes_ = 0;
  if (flush && handshake_done_ && !failed_ && !close_notify_sent_) {
    close_notify_sent_ = true;
    mbedtls_ssl_close_notify(&ssl_);
    flush_ciphertext();
  }
  inner_->close(flush);
}

const std::string &TlsStream::remote_address() const {
  return inner_->remote_address();
}

std::string TlsStream::protocol_version() const {
  return handshake_done_ ? mbedtls_ssl_get_version(&ssl_) : "";
}

std::string TlsStream::cipher_suite() const {
  return handshake_done_ ? mbedtls_ssl_get_ciphersuite(&ssl_) : "";
}

void TlsStream::on_stream_data(std::span<const uint8_t> bytes) {
  if (closed_ || failed_ || bytes.empty()) return;
  if (received_ == 0 && bytes[0] != MBEDTLS_SSL_MSG_HANDSHAKE) {
    // Nothing reached mbedTLS, so there is nobody to send an alert to.
    fail(LG_E_TLS, not_tls_reason(bytes[0]));
    return;
  }
  received_ += bytes.size();
  if (in_.size() - in_pos_ + bytes.size() > kMaxBufferedCiphertext) {
    fail(LG_E_LIMIT, fmt::format("TLS error: more than {} bytes of unprocessed data from the peer",
                                 kMaxBufferedCiphertext));
    return;
  }
  in_.insert(in_.end(), bytes.begin(), bytes.end());

  if (!handshake_done_ && !continue_handshake()) return;
  if (handshake_done_ && !read_records()) return;
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ > 0) {
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(in_pos_));
    in_pos_ = 0;
  }
}

void TlsStream::on_stream_closed(lg_status status, std::string_view reason) {
  if (closed_ || failed_) return;
  failed_ = true;
  if (status != LG_OK) {
    report_closed(status, reason);
  } else if (handshake_done_) {
    report_closed(LG_OK, "the peer closed the connection");
  } else if (received_ == 0) {
    // A port probe or health check rather than a failed client.
    report_closed(LG_OK, "the peer closed the connection before starting a TLS handshake");
  } else {
    report_closed(LG_E_TLS,
                  "TLS handshake failed: the peer closed the connection during the handshake");
  }
}

int TlsStream::bio_send(void *self, const unsigned char *buf, size_t len) {
  // Ciphertext only ever comes from our own writes, so it is queued like
  // plaintext on a TcpStream: the caller watches queued_bytes().
  auto *s = static_cast<TlsStream *>(self);
  s->out_.insert(s->out_.end(), buf, buf + len);
  return static_cast<int>(len);
}

int TlsStream::bio_recv(void *self, unsigned char *buf, size_t len) {
  auto *s = static_cast<TlsStream *>(self);
  size_t n = std::min(len, s->in_.size() - s->in_pos_);
  if (n == 0) return MBEDTLS_ERR_SSL_WANT_READ;
  if (!s->handshake_done_) {
    // mbedTLS ignores warning alerts during a handshake, so a peer could
    // keep it waiting forever; count what the handshake swallows.
    if (s->handshake_consumed_ + n > kMaxHandshakeBytes) {
      s->over_budget_ = true;
      return MBEDTLS_ERR_SSL_WANT_READ;
    }
    s->handshake_consumed_ += n;
  }
  std::memcpy(buf, s->in_.data() + s->in_pos_, n);
  s->in_pos_ += n;
  return static_cast<int>(n);
}

bool TlsStream::continue_handshake() {
  const int rc = mbedtls_ssl_handshake(&ssl_);
  if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
    flush_ciphertext();
    if (over_budget_) {
      fail(LG_E_LIMIT, fmt::format("TLS handshake failed: the peer sent more than {} bytes "
                                   "without completing the handshake",
                                   kMaxHandshakeBytes));
      return false;
    }
    return true;
  }
  if (rc != 0) {
    fail(LG_E_TLS, "TLS handshake failed: " + describe_error(rc));
    return false;
  }
  handshake_done_ = true;
  auto pending = std::move(pending_);
  pending_.clear();
  pending_bytes_ = 0;
  for (const auto &bytes : pending) {
    if (!encrypt(bytes)) return false;
  }
  flush_ciphertext();
  return true;
}

bool TlsStream::read_records() {
  std::weak_ptr<char> alive = alive_;
  for (;;) {
    const size_t consumed_before = in_pos_;
    const int rc = mbedtls_ssl_read(&ssl_, plain_.data(), plain_.size());
    if (rc > 0) {
      if (!handler_) return false;
      handler_->on_stream_data(std::span<const uint8_t>(plain_.data(), static_cast<size_t>(rc)));
      if (alive.expired() || closed_ || failed_) return false;
      continue;
    }
    // A refused renegotiation attempt produces an alert to send.
    flush_ciphertext();
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
      // mbedTLS also says "want read" after refusing a renegotiation, with
      // records still buffered behind the refused ClientHello.
      if (in_pos_ != consumed_before && in_pos_ < in_.size()) continue;
      return true;
    }
    if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == 0) {
      // Answer in kind, so the peer knows nothing was cut off.
      failed_ = true;
      close_notify_sent_ = true;
      mbedtls_ssl_close_notify(&ssl_);
      flush_ciphertext();
      inner_->close(true);
      report_closed(LG_OK, "the peer closed the connection");
      return false;
    }
    fail(LG_E_TLS, "TLS error: " + describe_error(rc));
    return false;
  }
}

bool TlsStream::encrypt(std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    const int rc = mbedtls_ssl_write(&ssl_, bytes.data(), bytes.size());
    if (rc > 0) {
      bytes = bytes.subspan(static_cast<size_t>(rc));
      continue;
    }
    // bio_send never refuses, so only an internal failure lands here.
    fail(LG_E_TLS, "TLS error: cannot encrypt: " + describe_error(rc));
    return false;
  }
  return true;
}

void TlsStream::flush_ciphertext() {
  if (out_.empty()) return;
  std::vector<uint8_t> bytes;
  bytes.swap(out_);
  inner_->write(std::move(bytes));
}

void TlsStream::fail(lg_status status, std::string reason) {
  failed_ = true;
  pending_.clear();
  pending_bytes_ = 0;
  // Any alert mbedTLS wrote goes out before the connection closes.
  flush_ciphertext();
  inner_->close(true);
  report_closed(status, reason);
}

void TlsStream::report_closed(lg_status status, std::string_view reason) {
  Handler *handler = handler_;
  handler_ = nullptr;
  if (handler) handler->on_stream_closed(status, reason);
}

std::string TlsStream::describe_error(int code) const {
  std::string what;
  switch (code) {
    case MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION:
      what = "the client supports no TLS version from 1.2 up";
      break;
    case MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN:
    case MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE:
      what =
          "no cipher suite in common: the server accepts only ECDHE key exchange with AES-GCM or "
          "ChaCha20-Poly1305";
      break;
    case MBEDTLS_ERR_SSL_INVALID_MAC:
      what = "a record failed its integrity check (bad record MAC)";
      break;
    case MBEDTLS_ERR_SSL_INVALID_RECORD:
      what = "the peer sent a malformed TLS record";
      break;
    case MBEDTLS_ERR_SSL_BAD_HS_CLIENT_HELLO:
      what = "the peer sent a malformed or unacceptable ClientHello";
      break;
    case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE: {
      const int description = ssl_.in_msglen >= 2 && ssl_.in_msg ? ssl_.in_msg[1] : -1;
      what =
          fmt::format("the peer sent a fatal alert: {} ({})", alert_name(description), description);
      if (description == MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA ||
          description == MBEDTLS_SSL_ALERT_MSG_BAD_CERT ||
          description == MBEDTLS_SSL_ALERT_MSG_CERT_UNKNOWN) {
        what += ", it does not trust the server's certificate";
      }
      break;
    }
    default:
      return mbedtls_error_text(code);
  }
  return fmt::format("{} [mbedTLS: {}]", what, mbedtls_error_text(code));
}

}  // namespace lg::net
