/* hash_test - FNV-1a against its published 32-bit test vectors, and the byte and string
 * forms agreeing. */
#include "table.h"
#include "hash.h"

struct hash_case {
    const char *name;
    const char *text;
    uint32_t want;
};

static const struct hash_case hash_cases[] = {
    {"fnv1a empty", "", 0x811c9dc5u},
    {"fnv1a a", "a", 0xe40c292cu},
    {"fnv1a foobar", "foobar", 0xbf9cf968u},
};

static void test_hash(void **state)
{
    const struct hash_case *tc = *state;

    assert_int_equal(hash_str(tc->text), tc->want);
    assert_int_equal(hash_bytes(tc->text, strlen(tc->text)), tc->want);
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, hash_cases, test_hash);
    return _cmocka_run_group_tests("hash", tests, n, NULL, NULL);
}
