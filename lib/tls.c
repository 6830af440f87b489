/* tls - OpenSSL contexts for STARTTLS: a server context from PEM files (or a fresh
 * self-signed key for tests), and a client context that may verify. */
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tls.h"

void tls_last_error(char *err, size_t errlen)
{
    unsigned long e = ERR_get_error();

    if (errlen == 0)
        return;
    if (e)
        ERR_error_string_n(e, err, errlen);
    else
        snprintf(err, errlen, "unknown TLS error");
    ERR_clear_error();
}

/* base_ctx - a context limited to TLS 1.2 and newer. */
static SSL_CTX *base_ctx(const SSL_METHOD *method, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(method);

    if (ctx == NULL) {
        tls_last_error(err, errlen);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    return ctx;
}

SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
    SSL_CTX *ctx = base_ctx(TLS_server_method(), err, errlen);

    if (ctx == NULL)
        return NULL;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        char why[200];
        tls_last_error(why, sizeof(why));
        snprintf(err, errlen, "%s: cannot load certificate: %s", cert_file, why);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        char why[200];
        tls_last_error(why, sizeof(why));
        snprintf(err, errlen, "%s: cannot load private key: %s", key_file, why);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

SSL_CTX *tls_server_ctx_self_signed(const char *common_name, char *err, size_t errlen)
{
    SSL_CTX *ctx = base_ctx(TLS_server_method(), err, errlen);
    EVP_PKEY *key = NULL;
    X509 *x = NULL;

    if (ctx == NULL)
        return NULL;
    key = EVP_EC_gen("P-256");
    x = X509_new();
    if (key == NULL || x == NULL)
        goto fail;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)common_name, -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    if (X509_sign(x, key, EVP_sha256()) == 0 || SSL_CTX_use_certificate(ctx, x) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, key) != 1)
        goto fail;
    X509_free(x);
    EVP_PKEY_free(key);
    return ctx;
fail:
    tls_last_error(err, errlen);
    X509_free(x);
    EVP_PKEY_free(key);
    SSL_CTX_free(ctx);
    return NULL;
}

int tls_client_ctx_ca(SSL_CTX *ctx, const char *file, char *err, size_t errlen)
{
    if (SSL_CTX_load_verify_locations(ctx, file, NULL) != 1) {
        char why[256];
        tls_last_error(why, sizeof(why));
        snprintf(err, errlen, "%s: %s", file, why);
        return -1;
    }
    return 0;
}

SSL_CTX *tls_client_ctx_new(int verify, char *err, size_t errlen)
{
    SSL_CTX *ctx = base_ctx(TLS_client_method(), err, errlen);

    if (ctx == NULL)
        return NULL;
    if (verify) {
        if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            tls_last_error(err, errlen);
            SSL_CTX_free(ctx);
            return NULL;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    return ctx;
}
