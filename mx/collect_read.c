/* collect_read - the collector's readers: mx/tarpit record files (JSON lines), Maildirs
 * and mbox files. Every message found is counted, whatever is wrong with it. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collect.h"
#include "hash.h"
#include "header.h"
#include "json_read.h"
#include "line.h"
#include "mua_stamp.h"
#include "received.h"
#include "rfc5322_date.h"

#define RECORD_TOKENS_MAX 1024
#define FIELD_MAX 1024
#define MESSAGE_HEAD_MAX 262144 /* header bytes read from one stored message */

static const char *const error_names[CE_COUNT] = {
    "json", "field", "date", "received_date", "no_received", "stamp", "unterminated", "binary", "read",
};

const char *collect_error_name(enum collect_error kind)
{
    return kind < CE_COUNT ? error_names[kind] : "?";
}

/* ---- shared state -------------------------------------------------------------------- */

void collect_init(struct collect *c)
{
    memset(c, 0, sizeof(*c));
    collect_store(c, "", 0);
}

void collect_free(struct collect *c)
{
    for (uint32_t i = 0; i < c->nnames; i++)
        free(c->names[i]);
    for (uint32_t i = 0; i < c->nfiles; i++)
        free(c->files[i]);
    free(c->names);
    free(c->name_hash);
    free(c->files);
    free(c->msgs);
    free(c->arena);
    free(c->subs);
    free(c->sub_index);
}

static void out_of_memory(void)
{
    fprintf(stderr, "collect: out of memory\n");
    exit(1);
}

void *collect_alloc(size_t size)
{
    void *p = calloc(1, size ? size : 1);

    if (p == NULL)
        out_of_memory();
    return p;
}

void *collect_grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(p, n * elem);
    if (q == NULL)
        out_of_memory();
    *cap = n;
    return q;
}

uint32_t collect_store(struct collect *c, const char *s, size_t len)
{
    if (len == 0 && c->arena_len > 0)
        return 0;
    c->arena = collect_grow(c->arena, &c->arena_cap, c->arena_len + len + 1, 1);
    uint32_t off = (uint32_t)c->arena_len;
    memcpy(c->arena + off, s, len);
    c->arena[off + len] = 0;
    c->arena_len += len + 1;
    return off;
}

uint32_t collect_intern(struct collect *c, const char *name)
{
    if (c->name_hash_size == 0 || (c->nnames + 1) * 2 > c->name_hash_size) {
        uint32_t size = c->name_hash_size ? c->name_hash_size * 2 : 64;
        uint32_t *h = collect_alloc(size * sizeof(*h));
        for (uint32_t i = 0; i < c->nnames; i++) {
            uint32_t k = hash_str(c->names[i]) & (size - 1);
            while (h[k])
                k = (k + 1) & (size - 1);
            h[k] = i + 1;
        }
        free(c->name_hash);
        c->name_hash = h;
        c->name_hash_size = size;
    }
    uint32_t k = hash_str(name) & (c->name_hash_size - 1);
    while (c->name_hash[k]) {
        uint32_t i = c->name_hash[k] - 1;
        if (strcmp(c->names[i], name) == 0)
            return i;
        k = (k + 1) & (c->name_hash_size - 1);
    }
    size_t cap = c->names_cap;
    c->names = collect_grow(c->names, &cap, c->nnames + 1, sizeof(char *));
    c->names_cap = (uint32_t)cap;
    c->names[c->nnames] = strdup(name);
    c->name_hash[k] = c->nnames + 1;
    return c->nnames++;
}

struct collect_msg *collect_add(struct collect *c, uint32_t file, uint32_t line)
{
    c->msgs = collect_grow(c->msgs, &c->cap, c->n + 1, sizeof(*c->msgs));
    struct collect_msg *m = &c->msgs[c->n++];
    memset(m, 0, sizeof(*m));
    m->file = file;
    m->line = line;
    m->round = m->seq = -1;
    m->tenant = m->mx = m->client = collect_intern(c, "-");
    return m;
}

void collect_error(struct collect *c, struct collect_msg *m, enum collect_error kind, uint32_t file,
                   uint32_t line, const char *what)
{
    c->errors[kind]++;
    if (m)
        m->errors |= 1u << kind;
    if (c->reported[kind]++ < COLLECT_REPORT_PER_KIND) {
        if (line)
            fprintf(stderr, "collect: %s:%u: %s: %s\n", c->files[file], line, error_names[kind], what);
        else
            fprintf(stderr, "collect: %s: %s: %s\n", c->files[file], error_names[kind], what);
    }
}

static uint32_t add_file(struct collect *c, const char *path)
{
    size_t cap = c->nfiles;
    c->files = collect_grow(c->files, &cap, c->nfiles + 1, sizeof(char *));
    c->files[c->nfiles] = strdup(path);
    return c->nfiles++;
}

/* apply_stamp - take tenant, round, seq and times from an X-Mua-Stamp value. */
static void apply_stamp(struct collect *c, struct collect_msg *m, const char *v, size_t len)
{
    struct mua_stamp st;

    if (mua_stamp_parse(v, len, &st) != 0) {
        collect_error(c, m, CE_STAMP, m->file, m->line, "malformed X-Mua-Stamp");
        return;
    }
    m->tenant = collect_intern(c, st.tenant);
    m->run = collect_intern(c, st.run);
    m->round = (int32_t)st.round;
    m->seq = (int32_t)st.seq;
    m->in.sent_us = st.sent_us;
    m->in.intended_us = st.intended_us;
    m->in.has_stamp = 1;
}

static void apply_date(struct collect *c, struct collect_msg *m, const char *v, size_t len)
{
    if (len == 0) {
        collect_error(c, m, CE_DATE, m->file, m->line, "no Date: header");
        return;
    }
    if (rfc5322_date_parse(v, len, &m->in.date_s) != 0) {
        collect_error(c, m, CE_DATE, m->file, m->line, "Date: does not parse");
        return;
    }
    m->in.has_date = 1;
}

/* ---- record files -------------------------------------------------------------------- */

static void record_line(struct collect *c, uint32_t file, uint32_t lineno, const char *line,
                        size_t len, struct json_token *tok)
{
    char buf[FIELD_MAX];
    int64_t v;
    struct collect_msg *m = collect_add(c, file, lineno);
    int n = json_read(line, len, tok, RECORD_TOKENS_MAX);

    if (n < 0 || tok[0].type != JSON_OBJECT) {
        collect_error(c, m, CE_JSON, file, lineno, "not a JSON object");
        return;
    }
    if (json_int64(line, tok, json_member(line, tok, 0, "t_us"), &m->in.arrival_us) != 0) {
        collect_error(c, m, CE_FIELD, file, lineno, "no t_us");
        return;
    }
    if (json_int64(line, tok, json_member(line, tok, 0, "mail_us"), &v) == 0) {
        m->in.newest_rcv_s = v / 1000000; /* what the MX stamps in its own Received: */
        m->in.has_newest = 1;
    }
    if (json_string(line, tok, json_member(line, tok, 0, "mx"), buf, sizeof(buf)) > 0)
        m->mx = collect_intern(c, buf);
    if (json_string(line, tok, json_member(line, tok, 0, "client"), buf, sizeof(buf)) > 0)
        m->client = collect_intern(c, buf);
    int k = json_string(line, tok, json_member(line, tok, 0, "message_id"), buf, sizeof(buf));
    if (k > 0)
        m->id_off = collect_store(c, buf, (size_t)k);
    k = json_string(line, tok, json_member(line, tok, 0, "date"), buf, sizeof(buf));
    apply_date(c, m, buf, k > 0 ? (size_t)k : 0);
    k = json_string(line, tok, json_member(line, tok, 0, "stamp"), buf, sizeof(buf));
    if (k > 0)
        apply_stamp(c, m, buf, (size_t)k);
    int rcv = json_member(line, tok, 0, "received");
    if (rcv < 0 || tok[rcv].type != JSON_ARRAY || tok[rcv].children == 0) {
        collect_error(c, m, CE_NO_RECEIVED, file, lineno, "no Received: header");
        return;
    }
    int first = rcv + 1; /* oldest first */
    if (json_int64(line, tok, json_member(line, tok, first, "t"), &m->in.oldest_rcv_s) == 0)
        m->in.has_oldest = 1;
    else
        collect_error(c, m, CE_RECEIVED_DATE, file, lineno, "oldest Received: has no valid date");
}

int collect_read_records(struct collect *c, const char *path)
{
    uint32_t file = add_file(c, path);
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    struct json_token *tok = collect_alloc(RECORD_TOKENS_MAX * sizeof(*tok));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint32_t lineno = 0;

    if (f == NULL || tok == NULL) {
        collect_error(c, NULL, CE_READ, file, 0, strerror(errno));
        free(tok);
        return -1;
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        size_t n = line_strip_eol(line, (size_t)len);
        if (n == 0)
            continue;
        record_line(c, file, lineno, line, n, tok);
    }
    if (ferror(f))
        collect_error(c, NULL, CE_READ, file, lineno, strerror(errno));
    free(line);
    free(tok);
    if (f != stdin)
        fclose(f);
    return 0;
}

/* ---- stored messages (Maildir, mbox) ------------------------------------------------- */

struct capture {
    struct collect *c;
    struct collect_msg *m;
    int nreceived;
    char by[256];
    char from[256];
};

/* on_field - one header of a stored message: the newest Received: gives the "by" host (the
 * MX that stored it), the client address and the arrival; the oldest the MSA's time;
 * Date, Message-ID and the mua's stamp are kept. */
static void on_field(void *arg, const char *name, size_t nlen, const char *v, size_t vlen)
{
    struct capture *cap = arg;
    struct collect_msg *m = cap->m;

    if (header_name_is(name, nlen, "Received")) {
        struct received r;
        enum received_status st = received_parse(v, vlen, &r);
        if (cap->nreceived == 0) {
            if (r.by_len > 0 && r.by_len < sizeof(cap->by)) {
                memcpy(cap->by, r.by, r.by_len);
                cap->by[r.by_len] = 0;
            }
            const char *lb = memchr(v, '[', vlen);
            const char *rb = lb ? memchr(lb, ']', vlen - (size_t)(lb - v)) : NULL;
            if (lb && rb && (size_t)(rb - lb - 1) < sizeof(cap->from)) {
                memcpy(cap->from, lb + 1, (size_t)(rb - lb - 1));
                cap->from[rb - lb - 1] = 0;
            }
        }
        cap->nreceived++;
        if (st != RECEIVED_OK) {
            collect_error(cap->c, m, CE_RECEIVED_DATE, m->file, m->line,
                          "Received: has no valid date");
            return;
        }
        if (!m->in.has_newest) { /* the first in the file is the newest */
            m->in.newest_rcv_s = r.time;
            m->in.has_newest = 1;
        }
        m->in.oldest_rcv_s = r.time; /* the last one seen is the oldest */
        m->in.has_oldest = 1;
    } else if (header_name_is(name, nlen, "Date")) {
        apply_date(cap->c, m, v, vlen);
    } else if (header_name_is(name, nlen, "Message-ID")) {
        m->id_off = collect_store(cap->c, v, vlen);
    } else if (header_name_is(name, nlen, MUA_STAMP_HEADER)) {
        apply_stamp(cap->c, m, v, vlen);
    }
}

/* read_head - parse a stored message's header section from buf[0..len). */
static void read_head(struct collect *c, struct collect_msg *m, const char *buf, size_t len,
                      int64_t file_time_us)
{
    static struct header_parser hp;
    struct capture cap = {c, m, 0, "", ""};
    size_t off = 0;
    int saw_date = 0;

    header_init(&hp);
    if (memchr(buf, 0, len))
        collect_error(c, m, CE_BINARY, m->file, m->line, "NUL bytes in the message");
    while (off < len && hp.state == HEADER_IN) {
        size_t n;
        if (line_scan(buf + off, len - off, len - off, &n) != LINE_COMPLETE)
            n = len - off;
        header_feed(&hp, buf + off, n, on_field, &cap);
        off += n;
    }
    if (hp.state == HEADER_IN) {
        header_finish(&hp, on_field, &cap);
        collect_error(c, m, CE_UNTERMINATED, m->file, m->line, "header section never ends");
    }
    if (hp.malformed)
        collect_error(c, m, CE_BINARY, m->file, m->line, "lines that are not header fields");
    saw_date = m->in.has_date || (m->errors & (1u << CE_DATE));
    if (!saw_date)
        collect_error(c, m, CE_DATE, m->file, m->line, "no Date: header");
    if (cap.nreceived == 0)
        collect_error(c, m, CE_NO_RECEIVED, m->file, m->line, "no Received: header");
    if (cap.by[0])
        m->mx = collect_intern(c, cap.by);
    if (cap.from[0])
        m->client = collect_intern(c, cap.from);
    if (file_time_us > 0)
        m->in.arrival_us = file_time_us;
    else if (m->in.has_newest)
        m->in.arrival_us = m->in.newest_rcv_s * 1000000;
}

static int read_maildir_sub(struct collect *c, const char *dir, const char *sub, char *buf)
{
    char path[4096];
    DIR *d;
    struct dirent *e;

    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    d = opendir(path);
    if (d == NULL)
        return errno == ENOENT ? 0 : -1;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, e->d_name);
        uint32_t file = add_file(c, path);
        FILE *f = fopen(path, "r");
        if (f == NULL || fstat(fileno(f), &st) != 0) {
            struct collect_msg *m = collect_add(c, file, 0);
            collect_error(c, m, CE_READ, file, 0, strerror(errno));
            if (f)
                fclose(f);
            continue;
        }
        size_t n = fread(buf, 1, MESSAGE_HEAD_MAX, f);
        fclose(f);
        struct collect_msg *m = collect_add(c, file, 0);
        /* the file's mtime is when the MX finished writing it: arrival with us precision */
        read_head(c, m, buf, n, (int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000);
    }
    closedir(d);
    return 0;
}

int collect_read_maildir(struct collect *c, const char *path)
{
    char *buf = collect_alloc(MESSAGE_HEAD_MAX);
    int r = 0;

    if (read_maildir_sub(c, path, "new", buf) != 0 || read_maildir_sub(c, path, "cur", buf) != 0) {
        uint32_t file = add_file(c, path);
        collect_error(c, NULL, CE_READ, file, 0, strerror(errno));
        r = -1;
    }
    free(buf);
    return r;
}

int collect_read_mbox(struct collect *c, const char *path)
{
    uint32_t file = add_file(c, path);
    FILE *f = fopen(path, "r");
    char *line = NULL, *head = NULL;
    size_t cap = 0, head_len = 0, head_cap = 0;
    ssize_t len;
    uint32_t lineno = 0, start = 0;
    int in_msg = 0, in_head = 0, prev_blank = 1;

    if (f == NULL) {
        collect_error(c, NULL, CE_READ, file, 0, strerror(errno));
        return -1;
    }
    for (;;) {
        len = getline(&line, &cap, f);
        lineno++;
        int is_from = len >= 5 && prev_blank && memcmp(line, "From ", 5) == 0;
        if (len <= 0 || is_from) {
            if (in_msg) {
                struct collect_msg *m = collect_add(c, file, start);
                read_head(c, m, head ? head : "", head_len, 0);
            }
            if (len <= 0)
                break;
            in_msg = in_head = 1;
            head_len = 0;
            start = lineno;
            prev_blank = 0;
            continue;
        }
        prev_blank = line_strip_eol(line, (size_t)len) == 0;
        if (in_head) {
            head = collect_grow(head, &head_cap, head_len + (size_t)len, 1);
            memcpy(head + head_len, line, (size_t)len);
            head_len += (size_t)len;
            if (prev_blank)
                in_head = 0;
        }
    }
    free(line);
    free(head);
    fclose(f);
    return 0;
}
