/* maildir_test - delivery into a Maildir as Postfix's virtual(8) does: the message
 * appears in new/ only when committed, CRLF becomes LF, an abort leaves nothing. */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "table.h"
#include "maildir.h"

static char dir[64];

/* count - files in dir/sub. */
static int count(const char *sub)
{
    char path[128];
    int n = 0;
    struct dirent *e;

    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static int setup(void **state)
{
    char err[256];

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/maildir_test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    strcat(dir, "/md");
    assert_int_equal(maildir_create(dir, err, sizeof(err)), 0);
    return 0;
}

static int teardown(void **state)
{
    char cmd[160];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strlen(dir) - 3), dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_commit(void **state)
{
    struct maildir_msg m;
    char err[256], got[128];

    (void)state;
    assert_int_equal(maildir_begin(&m, dir, "mx1.test", err, sizeof(err)), 0);
    maildir_write(&m, "Subject: x\r\n\r\nbody\r\n", 20);
    assert_int_equal(count("new"), 0); /* nothing visible before the commit */
    assert_int_equal(maildir_commit(&m), 0);
    assert_int_equal(count("new"), 1);
    assert_int_equal(count("tmp"), 0);
    FILE *f = fopen(m.new_path, "rb");
    assert_non_null(f);
    size_t n = fread(got, 1, sizeof(got) - 1, f);
    fclose(f);
    got[n] = 0;
    assert_string_equal(got, "Subject: x\n\nbody\n");
}

static void test_abort(void **state)
{
    struct maildir_msg m;
    char err[256];

    (void)state;
    assert_int_equal(maildir_begin(&m, dir, "mx1.test", err, sizeof(err)), 0);
    maildir_write(&m, "half", 4);
    maildir_abort(&m);
    assert_int_equal(count("new"), 0);
    assert_int_equal(count("tmp"), 0);
}

static void test_unwritable(void **state)
{
    char err[256];

    (void)state;
    assert_int_equal(maildir_create("/proc/no/such/maildir", err, sizeof(err)), -1);
    assert_true(strstr(err, "/proc/no/such/maildir") != NULL); /* the message names the path */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable, setup, teardown),
    };
    return cmocka_run_group_tests_name("maildir", tests, NULL, NULL);
}
