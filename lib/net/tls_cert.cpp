#include "net/tls_cert.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string_view>
#include <vector>

namespace lg::net {

namespace {

// Owners for the mbedTLS contexts, so that every early return frees them.
struct Rng {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  Rng() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
  }
  ~Rng() {
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
  Rng(const Rng &) = delete;
  Rng &operator=(const Rng &) = delete;
  int seed(std::string_view personal) {
    return mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                                 reinterpret_cast<const unsigned char *>(personal.data()),
                                 personal.size());
  }
};

struct Pk {
  mbedtls_pk_context ctx;
  Pk() { mbedtls_pk_init(&ctx); }
  ~Pk() { mbedtls_pk_free(&ctx); }
  Pk(const Pk &) = delete;
  Pk &operator=(const Pk &) = delete;
};

struct Crt {
  mbedtls_x509_crt ctx;
  Crt() { mbedtls_x509_crt_init(&ctx); }
  ~Crt() { mbedtls_x509_crt_free(&ctx); }
  Crt(const Crt &) = delete;
  Crt &operator=(const Crt &) = delete;
};

struct CrtWriter {
  mbedtls_x509write_cert ctx;
  CrtWriter() { mbedtls_x509write_crt_init(&ctx); }
  ~CrtWriter() { mbedtls_x509write_crt_free(&ctx); }
  CrtWriter(const CrtWriter &) = delete;
  CrtWriter &operator=(const CrtWriter &) = delete;
};

struct Mpi {
  mbedtls_mpi ctx;
  Mpi() { mbedtls_mpi_init(&ctx); }
  ~Mpi() { mbedtls_mpi_free(&ctx); }
  Mpi(const Mpi &) = delete;
  Mpi &operator=(const Mpi &) = delete;
};

// Holds secret bytes and wipes them when done.
struct SecretBuffer {
  std::vector<unsigned char> bytes;
  explicit SecretBuffer(size_t n) : bytes(n, 0) {}
  ~SecretBuffer() { mbedtls_platform_zeroize(bytes.data(), bytes.size()); }
  SecretBuffer(const SecretBuffer &) = delete;
  SecretBuffer &operator=(const SecretBuffer &) = delete;
};

// One subjectAltName entry: a DNS name, or an IP address in network order.
struct AltName {
  bool is_ip = false;
  std::string value;  // the name, or 4 or 16 address bytes
};

std::string format_utc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y%m%d%H%M%S", &tm);
  return buf;
}

// Parses `text` as an IPv4 or IPv6 address into network-order bytes.
bool parse_ip(const std::string &text, std::string &bytes) {
  unsigned char addr[16];
  if (inet_pton(AF_INET, text.c_str(), addr) == 1) {
    bytes.assign(reinterpret_cast<char *>(addr), 4);
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), addr) == 1) {
    bytes.assign(reinterpret_cast<char *>(addr), 16);
    return true;
  }
  return false;
}

// Host names only: the name goes into a distinguished-name string that
// mbedTLS parses (where ',' '=' and '\' mean something) and into a dNSName.
bool valid_host_name(const std::string &name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// ASN.1 is written backwards from the end of `buf`; these return the
// number of bytes added, or a negative mbedTLS error.
int write_tagged(unsigned char **p, unsigned char *start, unsigned char tag, const void *data,
                 size_t size) {
  int len = mbedtls_asn1_write_raw_buffer(p, start, static_cast<const unsigned char *>(data), size);
  if (len < 0) return len;
  int n = mbedtls_asn1_write_len(p, start, size);
  if (n < 0) return n;
  len += n;
  n = mbedtls_asn1_write_tag(p, start, tag);
  if (n < 0) return n;
  return len + n;
}

int wrap_sequence(unsigned char **p, unsigned char *start, size_t inner_len) {
  int n = mbedtls_asn1_write_len(p, start, inner_len);
  if (n < 0) return n;
  int t = mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
  if (t < 0) return t;
  return n + t;
}

// GeneralNames ::= SEQUENCE OF GeneralName, with dNSName [2] and
// iPAddress [7], both implicitly tagged (RFC 5280 4.2.1.6).
int add_subject_alt_names(mbedtls_x509write_cert *crt, const std::vector<AltName> &names) {
  std::array<unsigned char, 2048> buf{};
  unsigned char *p = buf.data() + buf.size();
  size_t len = 0;
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    const unsigned char tag = MBEDTLS_ASN1_CONTEXT_SPECIFIC | (it->is_ip ? 7 : 2);
    int n = write_tagged(&p, buf.data(), tag, it->value.data(), it->value.size());
    if (n < 0) return n;
    len += n;
  }
  int n = wrap_sequence(&p, buf.data(), len);
  if (n < 0) return n;
  len += n;
  return mbedtls_x509write_crt_set_extension(
      crt, MBEDTLS_OID_SUBJECT_ALT_NAME, MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, p, len);
}

// ExtKeyUsageSyntax ::= SEQUENCE OF KeyPurposeId: serverAuth alone, so the
// certificate cannot pass as a client or code-signing certificate.
int add_server_auth_usage(mbedtls_x509write_cert *crt) {
  std::array<unsigned char, 64> buf{};
  unsigned char *p = buf.data() + buf.size();
  int len = mbedtls_asn1_write_oid(&p, buf.data(), MBEDTLS_OID_SERVER_AUTH,
                                   MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH));
  if (len < 0) return len;
  int n = wrap_sequence(&p, buf.data(), len);
  if (n < 0) return n;
  return mbedtls_x509write_crt_set_extension(crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                             MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, p,
                                             len + n);
}

// DER TLV with a definite length; certificates stay far below 64 KiB.
void append_tlv(std::vector<uint8_t> &out, uint8_t tag, std::span<const uint8_t> content) {
  out.push_back(tag);
  const size_t n = content.size();
  if (n < 0x80) {
    out.push_back(static_cast<uint8_t>(n));
  } else if (n <= 0xFF) {
    out.push_back(0x81);
    out.push_back(static_cast<uint8_t>(n));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<uint8_t>(n >> 8));
    out.push_back(static_cast<uint8_t>(n));
  }
  out.insert(out.end(), content.begin(), content.end());
}

// AlgorithmIdentifier for ecdsa-with-SHA256 as mbedTLS 2.28 writes it (with
// NULL parameters) and as RFC 5758 3.2 requires it (without).
constexpr uint8_t kEcdsaSha256WithNull[] = {0x30, 0x0C, 0x06, 0x08, 0x2A, 0x86, 0x48,
                                            0xCE, 0x3D, 0x04, 0x03, 0x02, 0x05, 0x00};
constexpr uint8_t kEcdsaSha256[] = {0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86,
                                    0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};

// mbedTLS 2.28's writer puts NULL parameters into the ECDSA signature
// algorithm, which strict verifiers (webpki, so rustls-based clients)
// reject. Rewrites the TBSCertificate's algorithm without them and signs it
// again. Returns the DER certificate, or an mbedTLS error in `rc`.
std::vector<uint8_t> resign_without_null_params(std::span<const uint8_t> der, Pk &key, Rng &rng,
                                                int &rc) {
  rc = MBEDTLS_ERR_ASN1_INVALID_DATA;
  auto *p = const_cast<unsigned char *>(der.data());
  const unsigned char *end = der.data() + der.size();
  size_t len = 0;
  if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0) {
    return {};
  }
  if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0) {
    return {};
  }
  const unsigned char *tbs_body = p;
  const unsigned char *tbs_end = p + len;
  // version [0] EXPLICIT, then serialNumber, then the signature algorithm.
  if (mbedtls_asn1_get_tag(&p, tbs_end, &len,
                           MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 0) != 0) {
    return {};
  }
  p += len;
  if (mbedtls_asn1_get_tag(&p, tbs_end, &len, MBEDTLS_ASN1_INTEGER) != 0) return {};
  p += len;
  if (static_cast<size_t>(tbs_end - p) < sizeof(kEcdsaSha256WithNull) ||
      std::memcmp(p, kEcdsaSha256WithNull, sizeof(kEcdsaSha256WithNull)) != 0) {
    return {};
  }
  std::vector<uint8_t> body(tbs_body, static_cast<const uint8_t *>(p));
  body.insert(body.end(), std::begin(kEcdsaSha256), std::end(kEcdsaSha256));
  body.insert(body.end(), static_cast<const uint8_t *>(p) + sizeof(kEcdsaSha256WithNull), tbs_end);
  std::vector<uint8_t> tbs;
  append_tlv(tbs, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE, body);

  std::array<unsigned char, 32> hash{};
  if ((rc = mbedtls_sha256_ret(tbs.data(), tbs.size(), hash.data(), 0)) != 0) return {};
  std::vector<uint8_t> sig(1 + MBEDTLS_PK_SIGNATURE_MAX_SIZE, 0);  // unused-bits byte first
  size_t sig_len = 0;
  if ((rc = mbedtls_pk_sign(&key.ctx, MBEDTLS_MD_SHA256, hash.data(), hash.size(), sig.data() + 1,
                            &sig_len, mbedtls_ctr_drbg_random, &rng.drbg)) != 0) {
    return {};
  }
  sig.resize(1 + sig_len);

  std::vector<uint8_t> cert_body = std::move(tbs);
  cert_body.insert(cert_body.end(), std::begin(kEcdsaSha256), std::end(kEcdsaSha256));
  append_tlv(cert_body, MBEDTLS_ASN1_BIT_STRING, sig);
  std::vector<uint8_t> cert;
  append_tlv(cert, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE, cert_body);
  rc = 0;
  return cert;
}

// Writes through a temporary file in the same directory and renames it
// into place, so a reader never sees half a file. mkstemp creates the file
// with mode 0600, so a key is never readable by others, not even briefly.
bool write_file_atomically(const std::string &path, std::string_view data, mode_t mode,
                           std::string &error) {
  std::string tmp = path + ".tmp.XXXXXX";
  const int fd = mkstemp(tmp.data());
  if (fd < 0) {
    error =
        fmt::format("cannot create a temporary file next to {}: {}", path, std::strerror(errno));
    return false;
  }
  auto fail = [&](const char *what) {
    error = fmt::format("cannot {} {}: {}", what, tmp, std::strerror(errno));
    ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  };
  if (::fchmod(fd, mode) != 0) return fail("set the mode of");
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("write");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("flush");
  if (::close(fd) != 0) {
    error = fmt::format("cannot write {}: {}", tmp, std::strerror(errno));
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    error = fmt::format("cannot rename {} to {}: {}", tmp, path, std::strerror(errno));
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

// Whether an existing certificate and key can serve as they are.
bool usable_pair(const std::string &cert_path, const std::string &key_path) {
  Crt crt;
  if (mbedtls_x509_crt_parse_file(&crt.ctx, cert_path.c_str()) != 0) return false;
  if (mbedtls_x509_time_is_past(&crt.ctx.valid_to)) return false;
  Pk key;
  if (mbedtls_pk_parse_keyfile(&key.ctx, key_path.c_str(), nullptr) != 0) return false;
  return mbedtls_pk_check_pair(&crt.ctx.pk, &key.ctx) == 0;
}

}  // namespace

std::string mbedtls_error_text(int code) {
  char buf[200];
  mbedtls_strerror(code, buf, sizeof(buf));
  return fmt::format("{} (-0x{:04X})", buf, static_cast<unsigned>(code < 0 ? -code : code));
}

std::string file_error_text(const std::string &path, int code) {
  if (std::FILE *f = std::fopen(path.c_str(), "rb")) {
    std::fclose(f);
    return mbedtls_error_text(code);
  }
  return std::strerror(errno);
}

std::string fingerprint_sha256(std::span<const uint8_t> der) {
  std::array<unsigned char, 32> digest{};
  mbedtls_sha256_ret(der.data(), der.size(), digest.data(), 0);
  std::string out;
  out.reserve(digest.size() * 3);
  for (size_t i = 0; i < digest.size(); ++i) {
    if (i) out += ':';
    out += fmt::format("{:02X}", digest[i]);
  }
  return out;
}

std::string fingerprint_sha256_of_file(const std::string &cert_path, std::string &error) {
  Crt crt;
  const int rc = mbedtls_x509_crt_parse_file(&crt.ctx, cert_path.c_str());
  if (rc != 0) {
    error = rc > 0 ? fmt::format(
                         "cannot read certificate file {}: {} certificate(s) in it are "
                         "malformed",
                         cert_path, rc)
                   : fmt::format("cannot read certificate file {}: {}", cert_path,
                                 file_error_text(cert_path, rc));
    return {};
  }
  return fingerprint_sha256({crt.ctx.raw.p, crt.ctx.raw.len});
}

bool generate_self_signed(const std::string &cert_path, const std::string &key_path,
                          const std::string &common_name, std::string &error) {
  std::vector<AltName> names;
  std::string ip;
  if (parse_ip(common_name, ip)) {
    names.push_back({true, ip});
  } else if (valid_host_name(common_name)) {
    names.push_back({false, common_name});
  } else {
    error = fmt::format("'{}' is neither a host name nor an IP address", common_name);
    return false;
  }
  const std::string loopback{'\x7f', '\0', '\0', '\x01'};
  if (common_name != "localhost") names.push_back({false, "localhost"});
  if (!(names[0].is_ip && names[0].value == loopback)) names.push_back({true, loopback});

  auto failed = [&error](const char *step, int rc) {
    error = fmt::format("cannot create a self-signed certificate: {} failed: {}", step,
                        mbedtls_error_text(rc));
    return false;
  };

  Rng rng;
  if (int rc = rng.seed("livegate self-signed certificate"); rc != 0) {
    return failed("seeding the random generator", rc);
  }
  Pk key;
  if (int rc = mbedtls_pk_setup(&key.ctx, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)); rc != 0) {
    return failed("setting up the key", rc);
  }
  if (int rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key.ctx),
                                   mbedtls_ctr_drbg_random, &rng.drbg);
      rc != 0) {
    return failed("generating the P-256 key", rc);
  }

  // A positive 127-bit serial: unpredictable, as the CA/Browser rules ask,
  // and never zero or negative in DER.
  std::array<unsigned char, 16> serial_bytes{};
  if (int rc = mbedtls_ctr_drbg_random(&rng.drbg, serial_bytes.data(), serial_bytes.size());
      rc != 0) {
    return failed("drawing the serial number", rc);
  }
  serial_bytes[0] = static_cast<unsigned char>((serial_bytes[0] & 0x7F) | 0x40);
  Mpi serial;
  if (int rc = mbedtls_mpi_read_binary(&serial.ctx, serial_bytes.data(), serial_bytes.size());
      rc != 0) {
    return failed("encoding the serial number", rc);
  }

  // Backdated a day so that a peer whose clock is a little behind accepts it.
  const std::time_t now = std::time(nullptr);
  const std::time_t day = 24 * 60 * 60;
  const std::string not_before = format_utc(now - day);
  const std::string not_after = format_utc(now - day + 3653 * day);
  const std::string subject = "CN=" + common_name;

  CrtWriter crt;
  mbedtls_x509write_crt_set_version(&crt.ctx, MBEDTLS_X509_CRT_VERSION_3);
  mbedtls_x509write_crt_set_md_alg(&crt.ctx, MBEDTLS_MD_SHA256);
  mbedtls_x509write_crt_set_subject_key(&crt.ctx, &key.ctx);
  mbedtls_x509write_crt_set_issuer_key(&crt.ctx, &key.ctx);
  if (int rc = mbedtls_x509write_crt_set_serial(&crt.ctx, &serial.ctx); rc != 0) {
    return failed("setting the serial number", rc);
  }
  if (int rc = mbedtls_x509write_crt_set_subject_name(&crt.ctx, subject.c_str()); rc != 0) {
    return failed("setting the subject name", rc);
  }
  if (int rc = mbedtls_x509write_crt_set_issuer_name(&crt.ctx, subject.c_str()); rc != 0) {
    return failed("setting the issuer name", rc);
  }
  if (int rc = mbedtls_x509write_crt_set_validity(&crt.ctx, not_before.c_str(), not_after.c_str());
      rc != 0) {
    return failed("setting the validity period", rc);
  }
  if (int rc = mbedtls_x509write_crt_set_basic_constraints(&crt.ctx, 0, -1); rc != 0) {
    return failed("adding basicConstraints", rc);
  }
  if (int rc = mbedtls_x509write_crt_set_key_usage(&crt.ctx, MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
      rc != 0) {
    return failed("adding keyUsage", rc);
  }
  if (int rc = add_server_auth_usage(&crt.ctx); rc != 0) {
    return failed("adding extendedKeyUsage", rc);
  }
  if (int rc = add_subject_alt_names(&crt.ctx, names); rc != 0) {
    return failed("adding subjectAltName", rc);
  }
  if (int rc = mbedtls_x509write_crt_set_subject_key_identifier(&crt.ctx); rc != 0) {
    return failed("adding subjectKeyIdentifier", rc);
  }
  if (int rc = mbedtls_x509write_crt_set_authority_key_identifier(&crt.ctx); rc != 0) {
    return failed("adding authorityKeyIdentifier", rc);
  }

  std::vector<unsigned char> der_buf(4096, 0);
  const int der_len = mbedtls_x509write_crt_der(&crt.ctx, der_buf.data(), der_buf.size(),
                                                mbedtls_ctr_drbg_random, &rng.drbg);
  if (der_len < 0) return failed("signing the certificate", der_len);
  int rc = 0;
  const std::vector<uint8_t> der = resign_without_null_params(
      std::span<const uint8_t>(der_buf.data() + der_buf.size() - der_len, der_len), key, rng, rc);
  if (der.empty()) return failed("re-signing the certificate", rc);
  std::vector<unsigned char> cert_pem(4096, 0);
  size_t pem_len = 0;
  if ((rc = mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n",
                                     der.data(), der.size(), cert_pem.data(), cert_pem.size(),
                                     &pem_len)) != 0) {
    return failed("encoding the certificate", rc);
  }
  SecretBuffer key_pem(2048);
  if ((rc = mbedtls_pk_write_key_pem(&key.ctx, key_pem.bytes.data(), key_pem.bytes.size())) != 0) {
    return failed("encoding the key", rc);
  }

  // The key first: a certificate without its key is of no use, while a
  // lone key file left by a failure is simply replaced next time.
  const auto text = [](const std::vector<unsigned char> &b) {
    return std::string_view(reinterpret_cast<const char *>(b.data()),
                            ::strnlen(reinterpret_cast<const char *>(b.data()), b.size()));
  };
  if (!write_file_atomically(key_path, text(key_pem.bytes), 0600, error)) return false;
  return write_file_atomically(cert_path, text(cert_pem), 0644, error);
}

bool ensure_self_signed(const std::string &dir, std::string &cert_path, std::string &key_path,
                        std::string &error) {
  namespace fs = std::filesystem;
  const fs::path base(dir);
  std::error_code ec;
  if (!fs::exists(base, ec)) {
    if (base.has_parent_path() && !base.parent_path().empty()) {
      fs::create_directories(base.parent_path(), ec);
      if (ec) {
        error = fmt::format("cannot create directory {}: {}", base.parent_path().string(),
                            ec.message());
        return false;
      }
    }
    // The directory holds a private key: only its owner may list it.
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      error = fmt::format("cannot create directory {}: {}", dir, std::strerror(errno));
      return false;
    }
  } else if (!fs::is_directory(base, ec)) {
    error = fmt::format("{} exists and is not a directory", dir);
    return false;
  }
  cert_path = (base / "cert.pem").string();
  key_path = (base / "key.pem").string();
  if (usable_pair(cert_path, key_path)) return true;
  return generate_self_signed(cert_path, key_path, "localhost", error);
}

}  // namespace lg::net
