#include "cluster/cluster_tls.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace chat::cluster {

namespace {

std::string ssl_reason() {
  auto e = ERR_get_error();
  ERR_clear_error();
  if (e == 0)
    return "unknown error";
  const char* r = ERR_reason_error_string(e);
  return r ? r : "error " + std::to_string(e);
}

std::optional<std::string> readable(const std::string& what, const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f{std::fopen(path.c_str(), "rb"), &std::fclose};
  if (!f)
    return what + " " + path + ": " + std::strerror(errno);
  return std::nullopt;
}

} // namespace

std::optional<std::string> check_tls_files(const std::string& cert, const std::string& key, const std::string& ca) {
  for (auto [what, path] :
       {std::pair{"--cluster-tls-cert", &cert}, {"--cluster-tls-key", &key}, {"--cluster-tls-ca", &ca}})
    if (auto err = readable(what, *path))
      return err;
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx{SSL_CTX_new(TLS_method()), &SSL_CTX_free};
  if (!ctx)
    return "cannot create an OpenSSL context: " + ssl_reason();
  // The same calls CAF makes for every cluster connection (caf::openssl::session).
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1)
    return "--cluster-tls-cert " + cert + " is not a PEM certificate: " + ssl_reason();
  std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> pkey{nullptr, &EVP_PKEY_free};
  {
    std::unique_ptr<BIO, int (*)(BIO*)> bio{BIO_new_file(key.c_str(), "r"), &BIO_free};
    // No passphrase callback: CAF is given no passphrase either.
    auto no_pass = [](char*, int, int, void*) { return 0; };
    if (bio)
      pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_pass, nullptr));
  }
  if (!pkey)
    return "--cluster-tls-key " + key
      + " is not a usable PEM private key (encrypted keys are not supported): " + ssl_reason();
  if (SSL_CTX_use_PrivateKey(ctx.get(), pkey.get()) != 1 || SSL_CTX_check_private_key(ctx.get()) != 1)
    return "--cluster-tls-key " + key + " does not belong to the certificate " + cert + ": " + ssl_reason();
  if (SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr) != 1)
    return "--cluster-tls-ca " + ca + " is not a PEM CA certificate: " + ssl_reason();
  // Peers check our certificate against the same CA: a certificate it did not
  // sign would make every peer refuse us, so say so now rather than per connection.
  std::unique_ptr<X509_STORE_CTX, void (*)(X509_STORE_CTX*)> vctx{X509_STORE_CTX_new(), &X509_STORE_CTX_free};
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(ctx.get(), &chain);
  if (!vctx
      || X509_STORE_CTX_init(vctx.get(), SSL_CTX_get_cert_store(ctx.get()), SSL_CTX_get0_certificate(ctx.get()), chain)
        != 1)
    return "cannot verify the certificate: " + ssl_reason();
  if (X509_verify_cert(vctx.get()) != 1)
    return "--cluster-tls-cert " + cert + " does not verify against --cluster-tls-ca " + ca + ": "
      + X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx.get()));
  ERR_clear_error();
  return std::nullopt;
}

} // namespace chat::cluster
