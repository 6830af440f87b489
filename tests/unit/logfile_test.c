/* logfile_test - the buffered record file: lines kept across a failed write (a full
 * disk, here /dev/full) and written once the file takes them again; nothing dropped,
 * and what cannot be taken is refused, not lost silently. */
#include <fcntl.h>
#include <unistd.h>

#include "table.h"
#include "logfile.h"

static void test_kept_across_failed_flush(void **state)
{
    static struct logfile lf;
    char path[] = "/tmp/logfile_test.XXXXXX", err[256], got[256];
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(logfile_open(&lf, path, NULL, 0, err, sizeof(err)), 0);
    assert_int_equal(logfile_append(&lf, "one\n", 4), 0);
    int good = lf.fd;
    lf.fd = open("/dev/full", O_WRONLY); /* the disk is full */
    assert_true(lf.fd >= 0);
    assert_int_equal(logfile_flush(&lf), -1);
    assert_int_equal(lf.len, 4); /* kept */
    assert_int_equal(logfile_append(&lf, "two\n", 4), 0);
    assert_int_equal(lf.write_errors, 1);
    close(lf.fd);
    lf.fd = good; /* room again */
    assert_int_equal(logfile_flush(&lf), 0);
    logfile_close(&lf);
    fd = open(path, O_RDONLY);
    ssize_t n = read(fd, got, sizeof(got) - 1);
    close(fd);
    unlink(path);
    assert_int_equal(n, 8);
    got[n] = 0;
    assert_string_equal(got, "one\ntwo\n");
}

static void test_full_buffer_refuses(void **state)
{
    static struct logfile lf;
    static char line[1024];
    char err[256];
    int taken = 0, refused = 0;

    (void)state;
    assert_int_equal(logfile_open(&lf, "/dev/full", NULL, 0, err, sizeof(err)), 0);
    memset(line, 'x', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\n';
    for (int i = 0; i < 100; i++) {
        if (logfile_append(&lf, line, sizeof(line)) == 0)
            taken++;
        else
            refused++;
    }
    assert_int_equal(taken, LOGFILE_BUF_SIZE / (int)sizeof(line));
    assert_int_equal(refused, 100 - taken);
    assert_int_equal(lf.len, (size_t)taken * sizeof(line)); /* every line taken is still there */
    lf.len = 0; /* nothing can write to /dev/full: do not let close try for ever */
    logfile_close(&lf);
}

int main(void)
{
    struct CMUnitTest tests[TABLE_TESTS_MAX];
    size_t n = 0;

    TEST_ADD(tests, &n, test_kept_across_failed_flush);
    TEST_ADD(tests, &n, test_full_buffer_refuses);
    return _cmocka_run_group_tests("logfile", tests, n, NULL, NULL);
}
