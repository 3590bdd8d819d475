/*
 * jira-sim internals: the simulated Jira's data (users, projects, issues,
 * comments, worklogs, boards, sprints), the JQL subset the client sends,
 * and the request/response type the HTTP layer hands to the endpoints.
 * Private to tests/jira-sim/; nothing outside includes it.
 *
 * Concurrency: one rwlock (sim.lock) guards all data; Jira endpoints take it
 * for reading, the control API's mutations for writing.
 */
#ifndef JS_SIM_H
#define JS_SIM_H

#include "common/common.h"

#include <pthread.h>

struct cJSON;

/* ---- deterministic randomness ------------------------------------------- */
uint64_t sim_mix(uint64_t x); /* splitmix64 finaliser */
struct rng {
	uint64_t s;
};
uint64_t rng_next(struct rng *r);
/* Uniform in [lo, hi] (inclusive). */
int64_t rng_range(struct rng *r, int64_t lo, int64_t hi);
double rng_unit(struct rng *r);
int rng_poisson(struct rng *r, double mean);

/* ---- time zones (fixed offsets) ----------------------------------------- */
/* Offset in minutes east of UTC of a known zone; -1 when unknown. */
int sim_tz_offset(const char *zone, int *minutes);
/* Epoch ms of a local wall-clock time (y-m-d h:mi) at offset minutes. */
int64_t sim_local_to_ms(int y, int mo, int d, int h, int mi, int offset_min);

/* ---- data --------------------------------------------------------------- */
struct sim_user {
	char account_id[32]; /* Cloud accountId; DC: the user key "JIRAUSER10003" */
	char name[48];       /* DC user name */
	char display_name[64];
	char email[96];
	const char *tz;
	char *json_cloud; /* pre-rendered user object for the default Host (api.c) */
};

enum { DOC_DESC = 1, DOC_COMMENT = 2, DOC_WORKLOG = 3 };

/* A rich-text body: generated lazily from seed unless overridden. */
struct sim_doc {
	uint64_t seed;   /* 0 = no document (null) */
	int kind;        /* DOC_* */
	char *over_json; /* Cloud override: ADF JSON; DC: wiki string (also the text) */
	char *over_text;
};

struct sim_comment {
	int64_t id, issue_id;
	int author, update_author;
	struct sim_doc body;
	int64_t created, updated;
	bool deleted;
};

struct sim_worklog {
	int64_t id, issue_id;
	int author, update_author;
	struct sim_doc comment;
	int64_t started, created, updated;
	int64_t seconds;
	bool deleted;
	int64_t deleted_at;
};

#define SIM_MAX_LABELS 4
#define SIM_MAX_ISSUE_SPRINTS 8

struct sim_issue {
	int64_t id;
	int project;
	int num;
	char *summary;
	int status, priority, type;         /* indexes; priority -1 = null */
	int assignee, reporter;             /* user index; assignee -1 = null */
	int64_t created, updated, resolved; /* resolved JS_TIME_NULL = null */
	char *labels[SIM_MAX_LABELS];
	int n_labels;
	struct sim_doc desc;
	int64_t sprints[SIM_MAX_ISSUE_SPRINTS];
	int n_sprints;
	int64_t *comments; /* ids, creation order */
	size_t n_comments, cap_comments;
	int64_t *worklogs;
	size_t n_worklogs, cap_worklogs;
	bool deleted;
};

struct sim_sprint {
	int64_t id;
	int64_t board_id;
	int project;
	int seq;
	char name[64];
	char *goal;                   /* NULL = none */
	int state;                    /* SPRINT_* */
	int64_t start, end, complete; /* JS_TIME_NULL when absent */
};
enum { SPRINT_CLOSED = 0, SPRINT_ACTIVE = 1, SPRINT_FUTURE = 2 };
extern const char *const sim_sprint_states[3];

struct sim_project {
	int64_t id;
	char key[32];
	char name[96];
	int64_t scrum_board, kanban_board;
	struct sim_issue **by_num; /* index num-1 */
	size_t n_issues, cap_issues;
	struct sim_issue **order; /* live issues sorted by (updated, id) */
	size_t n_order;
};

struct sim_status {
	const char *id, *name, *cat_key, *cat_name, *cat_color;
	int cat_id;
};
struct sim_named {
	const char *id, *name;
};
extern const struct sim_status sim_statuses[];
extern const int sim_n_statuses;
extern const struct sim_named sim_priorities[];
extern const int sim_n_priorities;
extern const struct sim_named sim_types[];
extern const int sim_n_types;

struct sim_fault {
	char path[256];
	char kind[32];
	int count;
	int retry_after;
	int delay_ms;
};

struct sim_opts {
	int port;
	uint64_t seed;
	bool dc;
	char **projects;
	size_t n_projects;
	long issues;
	long users;
	double comments_avg, worklogs_avg;
	long feed_lag_ms;
	const char *email, *api_token, *pat;
	const char *caller_tz;
	int caller_offset; /* minutes */
	bool verbose;
	int64_t anchor_ms; /* generated data ends before this */
	long threads;
};

struct sim {
	struct sim_opts o;
	pthread_rwlock_t lock;
	struct sim_user *users;
	size_t n_users;
	struct sim_user caller;
	struct sim_project *projects;
	size_t n_projects;
	struct sim_issue **issues; /* by id - 10000 */
	size_t n_issues, cap_issues;
	struct sim_comment *comments; /* by id - 10000 */
	size_t n_comments, cap_comments;
	struct sim_worklog *worklogs; /* by id - 10000 */
	size_t n_worklogs, cap_worklogs;
	struct sim_sprint *sprints; /* by id - 1 */
	size_t n_sprints, cap_sprints;
	int64_t last_stamp;
	struct rng mut_rng; /* randomness for bulk updates */

	pthread_mutex_t meta_lock; /* faults and stats */
	struct sim_fault faults[64];
	size_t n_faults;
	int64_t stats_total;
	/* API requests being answered now, and the most at once since the
	 * last stats reset. */
	int64_t in_flight, max_in_flight;
	struct {
		char path[128];
		int64_t n;
	} stats[256];
	size_t n_stats;
};

extern struct sim SIM;

#define SIM_ID_BASE 10000

/* Build everything from the options. */
void sim_generate(void);
/* Strictly increasing "now" for mutations (ms); caller holds the write lock. */
int64_t sim_stamp(void);

struct sim_project *sim_project_by_key(const char *key);   /* or numeric id */
struct sim_issue *sim_issue_by_id(int64_t id);             /* live only */
struct sim_issue *sim_issue_by_ref(const char *id_or_key); /* live only */
struct sim_comment *sim_comment_by_id(int64_t id);
struct sim_worklog *sim_worklog_by_id(int64_t id);
struct sim_sprint *sim_sprint_by_id(int64_t id);
int sim_user_by_account(const char *account_id); /* -1 when unknown */

/* Mutations (write lock held). */
void sim_touch_issue(struct sim_issue *is); /* updated = stamp, re-sorted */
struct sim_issue *sim_add_issue(struct sim_project *p);
void sim_delete_issue(struct sim_issue *is);
struct sim_comment *sim_add_comment(struct sim_issue *is, int author, const char *body);
struct sim_worklog *sim_add_worklog(struct sim_issue *is, int author, int64_t seconds,
				    const char *comment);
void sim_doc_set_text(struct sim_doc *d, const char *text); /* NULL: no doc */
struct sim_sprint *sim_add_sprint(struct sim_project *p, const char *name, int state);
void sim_sprint_set_state(struct sim_sprint *s, int state);

/* Render a document: Cloud appends ADF JSON (or "null") to json; DC appends
 * the wiki string as a JSON string (or null). text gets the plain text
 * ("" when the document is null); either buffer may be NULL. */
void sim_doc_render(const struct sim_doc *d, struct buf *json, struct buf *text);

/* Position of the first issue in p->order at or after (updated, id). */
size_t sim_order_lower(const struct sim_project *p, int64_t updated, int64_t id);

/* ---- JQL ---------------------------------------------------------------- */
#define JQL_MAX_USERS 64
struct jql {
	struct sim_project *project;
	int64_t lo;                   /* updated >= lo (INT64_MIN: none) */
	int64_t hi;                   /* updated <= hi (INT64_MAX: none) */
	int users[JQL_MAX_USERS];     /* tracked user indexes (assignee or worklogAuthor) */
	size_t n_assignee, n_worklog; /* users[0..n_assignee) assignee, then worklog */
	int wl_users[JQL_MAX_USERS];
	bool has_user_filter;
	uint64_t hash; /* of the normalised text, for tokens */
};
/* Parse; on failure -1 and a Jira error message in err. */
int jql_parse(const char *text, struct jql *q, char *err, size_t errlen);
bool jql_match(const struct jql *q, const struct sim_issue *is);

/* ---- HTTP request / response ------------------------------------------- */
struct sim_req {
	const char *method;
	const char *path; /* without query */
	const char *body; /* NUL-terminated, "" when none */
	size_t body_len;
	void *conn;     /* struct MHD_Connection */
	char host[128]; /* "http://127.0.0.1:port" */
};

#define SIM_MAX_HEADERS 8
struct sim_resp {
	int status;
	struct buf body;
	const char *ctype;
	const char *hname[SIM_MAX_HEADERS];
	char hval[SIM_MAX_HEADERS][128];
	int n_headers;
	bool drop; /* close the connection without answering */
};

const char *sim_arg(const struct sim_req *r, const char *name); /* query parameter */
void resp_header(struct sim_resp *w, const char *name, const char *fmt, ...) JS_PRINTF(3, 4);
void resp_json(struct sim_resp *w, int status, const char *json);
void resp_error(struct sim_resp *w, int status, const char *msg);
void resp_not_found_html(struct sim_resp *w);
/* Append; aborts the process when a response exceeds 1 GiB (cannot happen). */
void out(struct buf *b, const char *s);
void outn(struct buf *b, const char *s, size_t n);
void outf(struct buf *b, const char *fmt, ...) JS_PRINTF(2, 3);
void out_str(struct buf *b, const char *s);               /* JSON string or null */
void out_time(struct buf *b, int64_t ms, int offset_min); /* "\"...-0800\"" or null */

bool sim_fault_kind_valid(const char *kind);

/* Endpoints: return true when the path was handled. */
bool api_handle(struct sim_req *r, struct sim_resp *w);
bool control_handle(struct sim_req *r, struct sim_resp *w);

/* Hidden modes. */
int check_shape_main(int argc, char **argv);
int self_test_main(void);
int json_get_main(int argc, char **argv);
/* ADF -> plain text by the documented rules (independent implementation
 * over cJSON, used by the self test). */
void check_adf_text(const struct cJSON *doc, struct buf *out);

#endif
