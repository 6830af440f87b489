/* tls_test - the STARTTLS contexts: a self-signed server context and a client context
 * complete a handshake (over an in-memory BIO pair) at TLS 1.2 or later; a verifying
 * client refuses the self-signed certificate; missing PEM files are named in the error. */
#include <openssl/err.h>

#include "table.h"
#include "tls.h"

/* handshake - drive client and server over a BIO pair; 1 when both finished. */
static int handshake(SSL_CTX *sctx, SSL_CTX *cctx, long *verify)
{
    SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
    BIO *sb, *cb;
    int sdone = 0, cdone = 0, ok = 0;

    assert_int_equal(BIO_new_bio_pair(&sb, 0, &cb, 0), 1);
    SSL_set_bio(s, sb, sb);
    SSL_set_bio(c, cb, cb);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    SSL_set_tlsext_host_name(c, "mx1.test");
    for (int i = 0; i < 100 && !(sdone && cdone); i++) {
        int rc = SSL_do_handshake(c);
        if (rc == 1)
            cdone = 1;
        else if (SSL_get_error(c, rc) != SSL_ERROR_WANT_READ)
            break;
        rc = SSL_do_handshake(s);
        if (rc == 1)
            sdone = 1;
        else if (SSL_get_error(s, rc) != SSL_ERROR_WANT_READ)
            break;
    }
    if (sdone && cdone) {
        ok = SSL_version(c) >= TLS1_2_VERSION;
        *verify = SSL_get_verify_result(c);
    }
    ERR_clear_error();
    SSL_free(s);
    SSL_free(c);
    return ok;
}

static void test_handshake(void **state)
{
    char err[256];
    long verify = -1;

    (void)state;
    SSL_CTX *sctx = tls_server_ctx_self_signed("mx1.test", err, sizeof(err));
    SSL_CTX *cctx = tls_client_ctx_new(0, err, sizeof(err));
    assert_non_null(sctx);
    assert_non_null(cctx);
    assert_int_equal(handshake(sctx, cctx, &verify), 1);
    assert_true(verify != X509_V_OK); /* self-signed: handshake done, not verified */
    SSL_CTX_free(cctx);
    cctx = tls_client_ctx_new(1, err, sizeof(err)); /* verify: the handshake fails */
    assert_non_null(cctx);
    assert_int_equal(handshake(sctx, cctx, &verify), 0);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
}

static void test_missing_files(void **state)
{
    char err[256] = "";

    (void)state;
    assert_null(tls_server_ctx_new("/no/such/cert.pem", "/no/such/key.pem", err, sizeof(err)));
    assert_true(strstr(err, "/no/such/cert.pem") != NULL);
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TEST_ADD(tests, &n, test_handshake);
    TEST_ADD(tests, &n, test_missing_files);
    return _cmocka_run_group_tests("tls", tests, n, NULL, NULL);
}
