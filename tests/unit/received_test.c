/* received_test - Received: values as real MTAs write them, and Postfix's form round trip. */
#include "table.h"
#include "received.h"

struct rcv_case {
    const char *name;
    const char *value;
    enum received_status status;
    int64_t time;
    const char *from, *by, *with, *id, *for_;
};

static const struct rcv_case rcv_cases[] = {
    {"postfix", "from msa1.test (unknown [198.18.1.11]) by agg.test (Postfix) with ESMTP id 4ABC1 "
                "for <u@mx1.test>; Tue, 24 Nov 2026 06:13:59 +0000 (UTC)",
     RECEIVED_OK, 1795500839, "msa1.test", "agg.test", "ESMTP", "4ABC1", "<u@mx1.test>"},
    {"postfix folded", "from msa1.test (unknown [198.18.1.11])\r\n\tby agg.test (Postfix) with ESMTP id 4ABC1\r\n"
                       "\tfor <u@mx1.test>; Tue, 24 Nov 2026 06:13:59 +0000 (UTC)",
     RECEIVED_OK, 1795500839, "msa1.test", "agg.test", "ESMTP", "4ABC1", "<u@mx1.test>"},
    {"postfix local submission", "by msa1.test (Postfix, from userid 0) id 9F00; Tue, 24 Nov 2026 06:13:59 +0000 (UTC)",
     RECEIVED_OK, 1795500839, "", "msa1.test", "", "9F00", ""},
    {"postfix padded day", "from a (unknown [1.2.3.4]) by b (Postfix) with ESMTP id X; Wed,  4 Nov 2026 06:13:59 +0000 (UTC)",
     RECEIVED_OK, 1793772839, "a", "b", "ESMTP", "X", ""},
    {"exim", "from [198.51.100.7] (helo=client.example) by mail.example.org with esmtps "
             "(TLS1.3) tls TLS_AES_256_GCM_SHA384 (Exim 4.96) (envelope-from <a@b>) id 1rXyZ-000A "
             "for u@example.org; Tue, 24 Nov 2026 15:13:59 +0900",
     RECEIVED_OK, 1795500839, "[198.51.100.7]", "mail.example.org", "esmtps", "1rXyZ-000A", "u@example.org"},
    {"sendmail", "from client.example (client.example [198.51.100.7]) by mail.example.org "
                 "(8.17.1/8.17.1) with ESMTP id 3AO6DxAb012345 for <u@example.org>; "
                 "Mon, 23 Nov 2026 22:13:59 -0800",
     RECEIVED_OK, 1795500839, "client.example", "mail.example.org", "ESMTP", "3AO6DxAb012345", "<u@example.org>"},
    {"gmail", "by 2002:a05:6a10:1234:b0:5a1:1234:abcd with SMTP id x12csp345678pxb; "
              "Mon, 23 Nov 2026 22:13:59 -0800 (PST)",
     RECEIVED_OK, 1795500839, "", "2002:a05:6a10:1234:b0:5a1:1234:abcd", "SMTP", "x12csp345678pxb", ""},
    {"qmail", "(qmail 12345 invoked by uid 89); 24 Nov 2026 06:13:59 -0000", RECEIVED_OK, 1795500839},
    {"semicolon inside comment", "from a (comment; with semicolon) by b; Tue, 24 Nov 2026 06:13:59 +0000",
     RECEIVED_OK, 1795500839, "a", "b"},
    {"obsolete zone", "from a by b; Tue, 24 Nov 2026 01:13:59 EST", RECEIVED_OK, 1795500839, "a", "b"},
    {"no date", "from a by b with SMTP", RECEIVED_NO_DATE, 0, "a", "b", "SMTP"},
    {"bad date", "from a by b; yesterday at noon", RECEIVED_BAD_DATE, 0, "a", "b"},
    {"empty after semicolon", "from a by b;", RECEIVED_BAD_DATE, 0, "a", "b"},
    {"empty", "", RECEIVED_NO_DATE},
    {"garbage", "\x01\x02\xff;\xfe", RECEIVED_BAD_DATE},
};

static void test_received(void **state)
{
    const struct rcv_case *tc = *state;
    struct received r;

    assert_int_equal(received_parse(tc->value, strlen(tc->value), &r), tc->status);
    if (tc->status == RECEIVED_OK)
        assert_int_equal(r.time, tc->time);
    if (tc->from)
        assert_span_equal(r.from, r.from_len, tc->from);
    if (tc->by)
        assert_span_equal(r.by, r.by_len, tc->by);
    if (tc->with)
        assert_span_equal(r.with, r.with_len, tc->with);
    if (tc->id)
        assert_span_equal(r.id, r.id_len, tc->id);
    if (tc->for_)
        assert_span_equal(r.for_, r.for_len, tc->for_);
}

static void test_format_round_trip(void **state)
{
    char buf[512];
    struct received r;

    (void)state;
    setenv("TZ", "UTC", 1);
    size_t n = received_format(buf, sizeof(buf), "msa1.test", "198.18.1.11", "mx1.test", "mailagg-mx",
                               1, "ABC123", "u@mx1.test", 1795500839);
    assert_true(n > 0);
    assert_string_equal(buf, "Received: from msa1.test (unknown [198.18.1.11])\r\n"
                             "\tby mx1.test (mailagg-mx) with ESMTPS id ABC123\r\n"
                             "\tfor <u@mx1.test>; Tue, 24 Nov 2026 06:13:59 +0000 (UTC)\r\n");
    /* unfold as a reader would: drop the "Received: " name and the CRLFs */
    char v[512];
    size_t k = 0;
    for (size_t i = strlen("Received: "); i < n; i++)
        if (buf[i] != '\r' && buf[i] != '\n')
            v[k++] = buf[i];
    assert_int_equal(received_parse(v, k, &r), RECEIVED_OK);
    assert_int_equal(r.time, 1795500839);
    assert_span_equal(r.by, r.by_len, "mx1.test");
    assert_span_equal(r.id, r.id_len, "ABC123");
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, rcv_cases, test_received);
    TEST_ADD(tests, &n, test_format_round_trip);
    return _cmocka_run_group_tests("received", tests, n, NULL, NULL);
}
