/* policy_file_test - the proxy's policy file (proxy/policy_file.c): files that parse and
 * what they say, files that do not and the file:line they name, longest-prefix lookups. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "table.h"
#include "policy_file.h"

static const char OPERATOR_FILE[] =
    "# the format of the operators' issue\n"
    "dest-limit = 10\n"
    "hold-max = 60\n"
    "[tenant shop1]            # a tenant: the MSAs matching these client addresses\n"
    "match = 198.18.1.11/32, 2001:db8::11/128\n"
    "weight = 1\n"
    "outbound = 198.18.2.11, 2001:db8:2::11  # source addresses towards every MX\n"
    "\n"
    "[tenant shops]\n"
    "match = 198.18.1.0/24\n"
    "weight = 2.5\n"
    "\n"
    "[destination bigmail]     # a destination: original destination addresses\n"
    "match = 198.18.3.0/24\n"
    "limit = auto\n"
    "outbound = 198.18.2.20\n"
    "[destination small]\n"
    "match = 198.18.3.7\n"
    "limit = 3\n"
    "tls = verify\n"
    "[tenant picky]\n"
    "match = 198.18.1.99\n"
    "outbound = 198.18.2.99\n"
    "outbound-priority = destination\n";

struct error_case {
    const char *name;
    const char *text;
    const char *err; /* what err must be */
};

static const struct error_case error_cases[] = {
    {"unknown top key", "limit = 3\n", "p.conf:1: unknown key 'limit' before any section (dest-limit, hold-max)"},
    {"bad dest-limit", "dest-limit = many\n", "p.conf:1: dest-limit 'many': expected none, auto or a count 1..100000"},
    {"zero dest-limit", "dest-limit = 0\n", "p.conf:1: dest-limit '0': expected none, auto or a count 1..100000"},
    {"hold-max too long", "hold-max = 300\n", "p.conf:1: hold-max '300': expected seconds, at most 280"},
    {"unknown section kind", "[shop shop1]\n", "p.conf:1: section [shop shop1]: expected [tenant NAME] or [destination NAME]"},
    {"section without name", "[tenant]\n", "p.conf:1: section [tenant]: expected [tenant NAME] or [destination NAME]"},
    {"duplicate tenant", "[tenant a]\nmatch = 10.0.0.1\n[tenant a]\n", "p.conf:3: [tenant a] again (first at line 1)"},
    {"tenant without match", "[tenant a]\nweight = 2\n[tenant b]\nmatch = 10.0.0.0/8\n", "p.conf:1: [tenant a] has no match line"},
    {"destination without match", "[destination d]\nlimit = 2\n", "p.conf:1: [destination d] has no match line"},
    {"bad address", "[tenant a]\nmatch = 10.0.0.300\n", "p.conf:2: '10.0.0.300' is not an IPv4 or IPv6 address"},
    {"bad prefix", "[tenant a]\nmatch = 10.0.0.0/33\n", "p.conf:2: '10.0.0.0/33': prefix length must be 0..32"},
    {"host bits", "[tenant a]\nmatch = 10.0.0.5/24\n", "p.conf:2: '10.0.0.5/24' has bits set beyond /24"},
    {"empty match", "[tenant a]\nmatch =\n", "p.conf:2: match: no address given"},
    {"empty item", "[tenant a]\nmatch = 10.0.0.1, , 10.0.0.2\n", "p.conf:2: '' is not an address or CIDR"},
    {"same CIDR twice", "[tenant a]\nmatch = 10.0.0.0/8\n[tenant b]\nmatch = 10.0.0.0/8\n",
     "p.conf:4: 10.0.0.0/8 is already matched by [tenant a] (line 2)"},
    {"weight zero", "[tenant a]\nmatch = 10.0.0.1\nweight = 0\n", "p.conf:3: weight '0': expected a number above 0, at most 1000"},
    {"outbound with port", "[tenant a]\nmatch = 10.0.0.1\noutbound = 10.1.1.1:25\n", "p.conf:3: outbound '10.1.1.1:25': an address without a port"},
    {"outbound not an address", "[tenant a]\nmatch = 10.0.0.1\noutbound = mx.example\n",
     "p.conf:3: outbound 'mx.example': not an IPv4 or IPv6 address"},
    {"tenant key in destination", "[destination d]\nmatch = 10.0.0.1\nweight = 2\n",
     "p.conf:3: unknown key 'weight' in [destination d] (match, limit, outbound, tls)"},
    {"destination key in tenant", "[tenant a]\nmatch = 10.0.0.1\nlimit = 2\n",
     "p.conf:3: unknown key 'limit' in [tenant a] (match, weight, outbound, outbound-priority)"},
    {"bad tls", "[destination d]\nmatch = 10.0.0.1\ntls = always\n", "p.conf:3: tls 'always': expected none, may or verify"},
    {"two IPv4 outbound addresses", "[tenant a]\nmatch = 10.0.0.1\noutbound = 10.1.1.1, 10.1.1.2\n",
     "p.conf:3: outbound: two IPv4 addresses (at most one per family)"},
    {"empty outbound", "[tenant a]\nmatch = 10.0.0.1\noutbound =\n", "p.conf:3: outbound: no address given"},
    {"bad outbound-priority", "[tenant a]\nmatch = 10.0.0.1\noutbound-priority = me\n",
     "p.conf:3: outbound-priority 'me': expected tenant or destination"},
    {"bad limit", "[destination d]\nmatch = 10.0.0.1\nlimit = -1\n", "p.conf:3: limit '-1': expected none, auto or a count 1..100000"},
    {"kv syntax error", "[tenant a]\nmatch 10.0.0.1\n", "p.conf:2: expected 'key = value', got 'match 10.0.0.1'"},
};

static void test_error(void **state)
{
    const struct error_case *tc = *state;
    struct policy *p = malloc(sizeof(*p));
    char err[512] = "";

    assert_non_null(p);
    assert_int_equal(policy_init(p), 0);
    assert_int_equal(policy_parse(p, "p.conf", tc->text, strlen(tc->text), err, sizeof(err)), -1);
    if (tc->err)
        assert_string_equal(err, tc->err);
    else
        assert_true(strncmp(err, "p.conf:3: outbound 'mx.example': ", 33) == 0);
    policy_free(p);
    free(p);
}

static struct sockaddr_storage sa(const char *ip, int port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        assert_int_equal(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        assert_int_equal(inet_pton(AF_INET, ip, &a->sin_addr), 1);
    }
    return ss;
}

struct lookup_case {
    const char *name;
    const char *client, *dst;
    const char *tenant;   /* tenant_name */
    int named;            /* from a section */
    double weight;
    enum adm_mode mode;
    unsigned limit;
    const char *rule;     /* outbound rule, "" for none */
    int tls;              /* -1: not set, else enum relay_tls_mode */
};

static const struct lookup_case lookup_cases[] = {
    {"longest prefix wins", "198.18.1.11", "198.18.3.1", "shop1", 1, 1, ADM_MODE_AUTO, 0, "tenant shop1", -1},
    {"the wider tenant", "198.18.1.12", "198.18.3.1", "shops", 1, 2.5, ADM_MODE_AUTO, 0, "destination bigmail", -1},
    {"IPv6 tenant", "2001:db8::11", "198.18.3.1", "shop1", 1, 1, ADM_MODE_AUTO, 0, "tenant shop1", -1},
    {"IPv4-mapped client", "::ffff:198.18.1.12", "198.18.3.1", "shops", 1, 2.5, ADM_MODE_AUTO, 0, "destination bigmail", -1},
    {"longest destination", "198.18.1.12", "198.18.3.7", "shops", 1, 2.5, ADM_MODE_FIXED, 3, "", RELAY_TLS_VERIFY},
    {"default budget", "198.18.1.12", "192.0.2.1", "shops", 1, 2.5, ADM_MODE_FIXED, 10, "", -1},
    {"a client of its own", "10.9.8.7", "192.0.2.1", "10.9.8.7", 0, 1, ADM_MODE_FIXED, 10, "", -1},
    {"an IPv6 client of its own", "2001:db8::99", "192.0.2.1", "2001:db8::99", 0, 1, ADM_MODE_FIXED, 10, "", -1},
    {"the destination's outbound first when the tenant says so", "198.18.1.99", "198.18.3.1", "picky", 1, 1,
     ADM_MODE_AUTO, 0, "destination bigmail", -1},
    {"else the tenant's own", "198.18.1.99", "192.0.2.1", "picky", 1, 1, ADM_MODE_FIXED, 10, "tenant picky", -1},
    {"an IPv6 destination: the tenant's IPv6 outbound", "198.18.1.11", "2001:db8:5::1", "shop1", 1, 1,
     ADM_MODE_FIXED, 10, "tenant shop1", -1},
    {"an IPv6 destination, no IPv6 outbound: none", "198.18.1.12", "2001:db8:5::1", "shops", 1, 2.5,
     ADM_MODE_FIXED, 10, "", -1},
};

static void test_lookup(void **state)
{
    const struct lookup_case *tc = *state;
    struct policy *p = malloc(sizeof(*p));
    struct policy_match m;
    char err[512];

    assert_non_null(p);
    assert_int_equal(policy_init(p), 0);
    if (policy_parse(p, "p.conf", OPERATOR_FILE, strlen(OPERATOR_FILE), err, sizeof(err)) != 0)
        fail_msg("%s", err);
    struct sockaddr_storage c = sa(tc->client, 40000), d = sa(tc->dst, 25);
    policy_lookup(p, (struct sockaddr *)&c, (struct sockaddr *)&d, &m);
    assert_string_equal(m.tenant_name, tc->tenant);
    assert_int_equal(m.tenant != NULL, tc->named);
    assert_float_equal(m.weight, tc->weight, 1e-9);
    assert_int_equal(m.budget.mode, tc->mode);
    assert_int_equal(m.budget.limit, tc->limit);
    assert_string_equal(m.outbound_rule, tc->rule);
    assert_int_equal(m.outbound != NULL, tc->rule[0] != 0);
    if (m.outbound) /* the source address is of the destination's family */
        assert_int_equal(m.outbound->ss_family, d.ss_family);
    assert_int_equal(m.have_tls ? (int)m.tls : -1, tc->tls);
    assert_true(m.tenant_id != 0);
    assert_float_equal(p->hold_max, 60, 1e-9);
    policy_free(p);
    free(p);
}

static void test_ids(void **state)
{
    struct sockaddr_storage a = sa("10.0.0.1", 1), b = sa("10.0.0.2", 1), a2 = sa("10.0.0.1", 2);
    struct sockaddr_storage x = sa("2001:db8::1", 1), y = sa("2001:db8::2", 1), d = sa("192.0.2.1", 25);
    struct policy_match ma, mb, ma2, mx, my;

    (void)state;
    policy_lookup(NULL, (struct sockaddr *)&a, (struct sockaddr *)&d, &ma);
    policy_lookup(NULL, (struct sockaddr *)&b, (struct sockaddr *)&d, &mb);
    policy_lookup(NULL, (struct sockaddr *)&a2, (struct sockaddr *)&d, &ma2);
    policy_lookup(NULL, (struct sockaddr *)&x, (struct sockaddr *)&d, &mx);
    policy_lookup(NULL, (struct sockaddr *)&y, (struct sockaddr *)&d, &my);
    assert_true(ma.tenant_id != mb.tenant_id);
    assert_true(ma.tenant_id == ma2.tenant_id); /* the port does not make a tenant */
    assert_true(mx.tenant_id != my.tenant_id);
    assert_true(ma.tenant_id != mx.tenant_id);
    assert_int_equal(ma.budget.mode, ADM_MODE_NONE);
}

static void test_cidr_match(void **state)
{
    struct policy_cidr c;
    char err[128];
    struct sockaddr_storage in = sa("10.1.255.255", 0), out = sa("10.4.0.0", 0), v6 = sa("::1", 0);

    (void)state;
    assert_int_equal(policy_cidr_parse("10.0.0.0/14", &c, err, sizeof(err)), 0);
    assert_true(policy_cidr_match(&c, (struct sockaddr *)&in));
    assert_false(policy_cidr_match(&c, (struct sockaddr *)&out));
    assert_false(policy_cidr_match(&c, (struct sockaddr *)&v6));
    assert_int_equal(policy_cidr_parse("0.0.0.0/0", &c, err, sizeof(err)), 0);
    assert_true(policy_cidr_match(&c, (struct sockaddr *)&out));
    assert_int_equal(policy_cidr_parse("::/0", &c, err, sizeof(err)), 0);
    assert_true(policy_cidr_match(&c, (struct sockaddr *)&v6));
    assert_false(policy_cidr_match(&c, (struct sockaddr *)&out));
}

int main(void)
{
    static struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, error_cases, test_error);
    TABLE_ADD(tests, &n, lookup_cases, test_lookup);
    TEST_ADD(tests, &n, test_ids);
    TEST_ADD(tests, &n, test_cidr_match);
    return _cmocka_run_group_tests("policy_file", tests, n, NULL, NULL);
}
