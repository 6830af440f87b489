/* table.h - run a table of cases through cmocka, one cmocka test per row, so every
 * row is counted and named in the report. A row struct starts with "const char *name". */
#ifndef TESTS_TABLE_H
#define TESTS_TABLE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define TABLE_TESTS_MAX 512

/* table_add - append one cmocka test per row of rows[0..count). */
static inline void table_add(struct CMUnitTest *tests, size_t *n, const void *rows, size_t count,
                             size_t row_size, CMUnitTestFunction fn)
{
    for (size_t i = 0; i < count && *n < TABLE_TESTS_MAX; i++) {
        const void *row = (const char *)rows + i * row_size;
        struct CMUnitTest t = {0};
        t.name = *(const char *const *)row;
        t.test_func = fn;
        t.initial_state = (void *)row;
        tests[(*n)++] = t;
    }
}

#define TABLE_ADD(tests, n, rows, fn) \
    table_add((tests), (n), (rows), sizeof(rows) / sizeof((rows)[0]), sizeof((rows)[0]), (fn))

/* TEST_ADD - append a single, non-table test. */
#define TEST_ADD(tests, n, fn)                                   \
    do {                                                         \
        struct CMUnitTest t_ = {0};                              \
        t_.name = #fn;                                           \
        t_.test_func = (fn);                                     \
        (tests)[(*(n))++] = t_;                                  \
    } while (0)

/* assert_span_equal - a (pointer, length) pair equals the C string want. */
#define assert_span_equal(ptr, len, want)                                         \
    do {                                                                          \
        const char *p_ = (ptr), *w_ = (want);                                     \
        size_t l_ = (len);                                                        \
        if (l_ != strlen(w_) || (l_ > 0 && memcmp(p_, w_, l_) != 0))              \
            fail_msg("got \"%.*s\", want \"%s\"", (int)l_, p_ ? p_ : "", w_);     \
    } while (0)

#endif
