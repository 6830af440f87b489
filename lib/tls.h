/* tls - OpenSSL contexts for STARTTLS: a server context from PEM files (or a fresh
 * self-signed key for tests), and a client context that may verify. Used by mx, tarpit, proxy. */
#ifndef LIB_TLS_H
#define LIB_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

/* tls_server_ctx_new - a TLS 1.2+ server context with cert_file and key_file (PEM).
 * Returns NULL and a reason in err on failure. */
SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file, char *err, size_t errlen);

/* tls_server_ctx_self_signed - a TLS 1.2+ server context with a new P-256 key and a
 * self-signed certificate for common_name (for tests). Returns NULL on failure. */
SSL_CTX *tls_server_ctx_self_signed(const char *common_name, char *err, size_t errlen);

/* tls_client_ctx_new - a TLS 1.2+ client context; verify: check the peer against the
 * system's CAs. Returns NULL and a reason in err on failure. */
SSL_CTX *tls_client_ctx_new(int verify, char *err, size_t errlen);

/* tls_client_ctx_ca - verify peers of ctx against the CA certificates in file (PEM)
 * too; returns 0, or -1 with a reason in err. */
int tls_client_ctx_ca(SSL_CTX *ctx, const char *file, char *err, size_t errlen);

/* tls_last_error - the reason of OpenSSL's newest queued error into err (cleared after). */
void tls_last_error(char *err, size_t errlen);

#endif
