/* addr_test - numeric socket addresses: parsing IPv4 and bracketed IPv6 with ports,
 * formatting back, equality, and every malformed form with its message. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "table.h"
#include "addr.h"

struct parse_case {
    const char *name;
    const char *text;
    int default_port;
    int ok;
    const char *formatted; /* addr_format with the port, or a part of the error message */
};

static const struct parse_case parse_cases[] = {
    {"ipv4 with port", "198.18.1.1:25", -1, 0, "198.18.1.1:25"},
    {"ipv4 default port", "198.18.2.21", 25, 0, "198.18.2.21:25"},
    {"ipv4 port 0 to bind", "127.0.0.1:0", -1, 0, "127.0.0.1:0"},
    {"ipv6 bracketed", "[2001:db8::11]:2525", -1, 0, "[2001:db8::11]:2525"},
    {"ipv6 without brackets refused", "::1", 25, -1, "[ADDR]:PORT"},
    {"ipv6 bracketed default port", "[::1]", 25, 0, "[::1]:25"},
    {"port missing", "198.18.1.1", -1, -1, "missing ':PORT'"},
    {"port too big", "198.18.1.1:65536", -1, -1, "bad port"},
    {"port not a number", "198.18.1.1:smtp", -1, -1, "bad port"},
    {"a name, not an address", "mx1.test:25", -1, -1, "not a numeric"},
    {"empty host is any address", "", 25, 0, "0.0.0.0:25"},
    {"star is any address", "*:2525", -1, 0, "0.0.0.0:2525"},
    {"ipv6 bracket not closed", "[::1:25", -1, -1, "unterminated"},
};

static void test_parse(void **state)
{
    const struct parse_case *tc = *state;
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char err[256] = "", buf[ADDR_TEXT_MAX];

    assert_int_equal(addr_parse(tc->text, tc->default_port, &ss, &len, err, sizeof(err)), tc->ok);
    if (tc->ok != 0) {
        if (strstr(err, tc->formatted) == NULL)
            fail_msg("error \"%s\" does not say \"%s\"", err, tc->formatted);
        return;
    }
    addr_format((struct sockaddr *)&ss, buf, sizeof(buf), 1);
    assert_string_equal(buf, tc->formatted);
    assert_true(len == (ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)));
}

static void test_format_port_equal(void **state)
{
    struct sockaddr_storage a, b, c;
    socklen_t la, lb, lc;
    char err[256], buf[ADDR_TEXT_MAX];

    (void)state;
    assert_int_equal(addr_parse("198.18.1.11:40000", -1, &a, &la, err, sizeof(err)), 0);
    assert_int_equal(addr_parse("198.18.1.11:40000", -1, &b, &lb, err, sizeof(err)), 0);
    assert_int_equal(addr_parse("198.18.1.11:40001", -1, &c, &lc, err, sizeof(err)), 0);
    addr_format((struct sockaddr *)&a, buf, sizeof(buf), 0);
    assert_string_equal(buf, "198.18.1.11");
    assert_int_equal(addr_port((struct sockaddr *)&a), 40000);
    assert_true(addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b));
    assert_false(addr_equal((struct sockaddr *)&a, (struct sockaddr *)&c));
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, parse_cases, test_parse);
    TEST_ADD(tests, &n, test_format_port_equal);
    return _cmocka_run_group_tests("addr", tests, n, NULL, NULL);
}
