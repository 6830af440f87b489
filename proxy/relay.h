/* relay - the transparent proxy's view of one SMTP session: it follows both streams
 * line by line, matches replies to (pipelined) commands, follows DATA so body lines are
 * never taken for commands, hides STARTTLS and CHUNKING from the client, performs
 * STARTTLS towards the MX itself, and reports commands, replies and messages.
 * Pure: all I/O goes through the callbacks, so scripted exchanges can drive it. */
#ifndef PROXY_RELAY_H
#define PROXY_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "smtp_cmd.h"
#include "smtp_data.h"

#define RELAY_PENDING_MAX 64   /* commands awaiting replies (RFC 2920 pipelining depth) */
#define RELAY_EHLO_MAX 2048    /* the EHLO reply, held to edit its keyword list */
#define RELAY_RCPTS_KEPT 4     /* recipients kept per message for the log (all are counted) */
#define RELAY_TEXT_MAX 256
#define RELAY_CHUNK_MAX 2048   /* longest client chunk in DATA (the owner's line limit) */

/* What relay_client_line and relay_server_line say about a line. */
enum relay_verdict {
    RELAY_TAKEN = 0,       /* used: deliver the next one */
    RELAY_HOLD,            /* the client must wait for the MX (greeting, 354, EHLO, TLS) */
    RELAY_WAIT_SERVER,     /* no room towards the MX: offer it again once that side drains */
    RELAY_WAIT_CLIENT,     /* no room towards the client: again once that side drains */
};

/* Who owes a reply now (the owner runs the timer of the side that owes). */
enum relay_owed {
    RELAY_OWED_NONE = 0,   /* the MX owes nothing: the client has the turn */
    RELAY_OWED_REPLY,      /* the MX owes the greeting or a reply to a command */
    RELAY_OWED_FINAL,      /* the MX owes the reply to the final "." (RFC 5321 4.5.3.2.6) */
    RELAY_OWED_TLS,        /* our STARTTLS handshake with the MX is running */
};

enum relay_tls_mode { RELAY_TLS_NONE = 0, RELAY_TLS_MAY, RELAY_TLS_VERIFY };

enum relay_phase {
    RELAY_GREETING = 0,   /* waiting for the MX's greeting */
    RELAY_COMMAND,        /* relaying commands and replies */
    RELAY_DATA_WAIT,      /* DATA sent: the client is held until the 354 (or not) */
    RELAY_BODY,           /* relaying the message until the final "." */
    RELAY_TLS_STARTING,   /* our STARTTLS sent, or the handshake running */
    RELAY_QUIT,           /* QUIT relayed; closing after its reply */
    RELAY_DONE,           /* closed */
};

/* What one message looked like, for the log. */
struct relay_message {
    char mail_from[SMTP_PATH_MAX + 1];
    unsigned nrcpt;
    char rcpt[RELAY_RCPTS_KEPT][SMTP_PATH_MAX + 1];
    int rcpt_code[RELAY_RCPTS_KEPT];
    uint64_t size;
    int code;                       /* final reply (0: none) */
    char reply[RELAY_TEXT_MAX];     /* its text */
    char queue_id[64];              /* the MX's queue id, from "queued as X" */
    int64_t mail_us, data_us, final_us;
};

struct relay_ops {
    /* queue bytes towards the client / the MX; return 0, or -1 when there is no room */
    int (*to_client)(void *ctx, const char *data, size_t len);
    int (*to_server)(void *ctx, const char *data, size_t len);
    size_t (*client_room)(void *ctx);
    size_t (*server_room)(void *ctx);
    void (*start_tls)(void *ctx);   /* the MX said 220 to our STARTTLS: handshake now */
    void (*finish)(void *ctx, const char *reason); /* end the session once the client has its replies */
    /* observations; any may be NULL. verb names what was answered, for the log: a
     * command's verb, "DOT" (a message's final reply) or "GREETING" */
    void (*on_command)(void *ctx, const char *verb, const char *line, size_t len);
    void (*on_reply)(void *ctx, const char *verb, int code, const char *line, size_t len);
    void (*on_message)(void *ctx, const struct relay_message *m);
    void (*on_tls_skipped)(void *ctx, const char *why);
    int64_t (*now_us)(void *ctx);
    /* a local reply waits for room towards the client: call relay_client_drained later */
    void (*want_client_room)(void *ctx);
    /* drop the MX connection now, without a final "." (a message is being refused) */
    void (*abort_server)(void *ctx, const char *why);
    /* the message had bare CRs or LFs: "normalized" or "refused" */
    void (*on_bare)(void *ctx, const char *action, uint64_t count);
    /* the MX's greeting, whole first line (it names the MX) */
    void (*on_greeting)(void *ctx, int code, const char *line, size_t len);
};

/* What the MX owes a reply to: a command of the client's, or the final "." of a message
 * (a relay event, not a verb of the protocol). */
struct relay_pending {
    enum smtp_verb verb;      /* the command (SMTP_VERB_UNKNOWN for a dot) */
    unsigned char dot;        /* the final "." of a message */
    unsigned char internal;   /* our own command: its reply is not forwarded */
    unsigned char local;      /* a reply we make ourselves when this reaches the head */
    short rcpt_index;         /* RCPT: its slot in the message */
    const char *local_text;
};

struct relay {
    const struct relay_ops *ops;
    void *ctx;
    enum relay_tls_mode tls_mode;
    enum smtp_bare_mode bare_mode; /* SMTP_BARE_NORMALIZE or SMTP_BARE_STRICT */
    enum relay_phase phase;
    int server_tls;           /* TLS towards the MX is up */
    struct smtp_data data;    /* in BODY: where the message ends, bare CR/LF */
    int refusing;             /* in BODY: the message is refused, the MX side dropped */
    int client_line_cont;     /* in commands: inside an over-long client line */
    int server_line_cont;     /* inside an over-long reply line from the MX ... */
    int server_line_code;     /* ... whose first chunk had this code */
    int server_line_last;     /* ... and was the last line of its reply */
    unsigned ehlo_pending;    /* EHLOs awaiting their reply: the client is held */
    unsigned npending, pending_head;
    struct relay_pending pending[RELAY_PENDING_MAX];
    size_t ehlo_len;
    int ehlo_overflow;
    char ehlo_line[SMTP_LINE_MAX + 1]; /* the client's EHLO, repeated after STARTTLS */
    size_t ehlo_line_len;
    char ehlo[RELAY_EHLO_MAX];
    int in_transaction;
    struct relay_message msg;
    uint64_t messages;
};

/* relay_init - a session in RELAY_GREETING. */
void relay_init(struct relay *r, const struct relay_ops *ops, void *ctx, enum relay_tls_mode mode);

/* relay_set_bare_mode - how bare CR/LF in a message is handled (default normalize). */
void relay_set_bare_mode(struct relay *r, enum smtp_bare_mode mode);

/* relay_client_line - a line (or chunk of at most RELAY_CHUNK_MAX, per conn.h flags)
 * from the client; says whether it was taken or why it must wait. */
enum relay_verdict relay_client_line(struct relay *r, const char *line, size_t len, unsigned flags);

/* relay_server_line - a line (or chunk) from the MX: RELAY_TAKEN or RELAY_WAIT_CLIENT. */
enum relay_verdict relay_server_line(struct relay *r, const char *line, size_t len, unsigned flags);

/* relay_client_drained - room towards the client again: send local replies that waited. */
void relay_client_drained(struct relay *r);

/* relay_tls_done - the STARTTLS handshake towards the MX ended. */
void relay_tls_done(struct relay *r, int ok, int verified);

/* relay_holding_client - whether client input must wait for the relay (not for room). */
int relay_holding_client(const struct relay *r);

/* relay_awaiting_reply - whether the MX owes a reply or a TLS handshake. */
int relay_awaiting_reply(const struct relay *r);

/* relay_owed - what the MX owes now (the owner picks the timers from it). */
enum relay_owed relay_owed(const struct relay *r);

/* relay_in_message - whether a message is between MAIL and its final reply. */
int relay_in_message(const struct relay *r);

#endif
