/* memtrim_test - when a fall in open sessions calls for giving memory back: half the
 * peak or less, and at least MEMTRIM_MIN_DROP sessions gone. */
#include "table.h"
#include "memtrim.h"

struct due_case {
    const char *name;
    unsigned peak, open;
    int want;
};

static const struct due_case due_cases[] = {
    {"no fall", 100, 100, 0},
    {"rising", 100, 150, 0},
    {"small peak, all gone", 10, 0, 0},
    {"a burst of 1,000 over", 1000, 0, 1},
    {"down to half", 200, 100, 1},
    {"not yet half", 200, 101, 0},
    {"half, but fewer than the minimum gone", 100, 50, 0},
    {"exactly the minimum gone", 128, 64, 1},
};

static void test_due(void **state)
{
    const struct due_case *tc = *state;

    assert_int_equal(memtrim_due(tc->peak, tc->open), tc->want);
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TABLE_ADD(tests, &n, due_cases, test_due);
    return _cmocka_run_group_tests("memtrim", tests, n, NULL, NULL);
}
