/*
 * The GraphQL admin plane over HTTP (libmicrohttpd: one epoll thread per
 * GRAPHQL_THREADS, fed connections in turn by an accepting thread).
 * /graphql follows the GraphQL-over-HTTP draft of May 2025: POST
 * application/json, GET for queries only, Accept negotiation between
 * application/graphql-response+json and application/json with the status
 * codes the draft gives each; bearer tokens compared in constant time; body
 * size and the engine's document limits refuse a request before any SQL.
 * Each thread owns a PostgreSQL connection (and a Jira client made on first
 * use) and an arena that its requests use one after another, reset after
 * each response.
 * /healthz, /readyz and /metrics (Prometheus text) sit beside it.
 */
#include <fcntl.h>
#include <malloc.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "engine/engine.h"
#include "graphql/admin_int.h"
#include "graphql/rcache.h"
#include "graphql/server.h"
#include "jira/jira.h"
#include "store/store.h"

/* HTTP status codes, named as the GraphQL-over-HTTP draft uses them. */
enum {
	HTTP_OK = 200,
	HTTP_NO_CONTENT = 204,
	HTTP_BAD_REQUEST = 400,  /* not a well-formed GraphQL-over-HTTP request; and,
					    for graphql-response+json, request errors */
	HTTP_UNAUTHORIZED = 401, /* no or unknown bearer token */
	HTTP_FORBIDDEN = 403,    /* the read token asked for a mutation */
	HTTP_NOT_FOUND = 404,
	HTTP_METHOD_NOT_ALLOWED = 405, /* not GET/POST; a mutation over GET */
	HTTP_NOT_ACCEPTABLE = 406,     /* Accept names no media type we serve */
	HTTP_PAYLOAD_TOO_LARGE = 413,  /* body over MAX_BODY_BYTES */
	HTTP_UNSUPPORTED_MEDIA = 415,  /* POST body not application/json */
	HTTP_INTERNAL_ERROR = 500,
	HTTP_UNAVAILABLE = 503, /* /readyz: a dependency is down */
};

#define MAX_BODY_BYTES (256 * 1024)
#define SNAPSHOT_MAX 512 /* longer snapshots (many transactions running): not cached */
#define MAX_RESPONSE_BYTES (64u << 20)
#define MT_GQL_RESPONSE "application/graphql-response+json"
#define MT_JSON "application/json"

enum media { MEDIA_GQL_RESPONSE, MEDIA_JSON };

/* Statuses counted for /metrics (anything else lands in "other"). */
static const int counted_status[] = {HTTP_OK,
				     HTTP_NO_CONTENT,
				     HTTP_BAD_REQUEST,
				     HTTP_UNAUTHORIZED,
				     HTTP_FORBIDDEN,
				     HTTP_NOT_FOUND,
				     HTTP_METHOD_NOT_ALLOWED,
				     HTTP_NOT_ACCEPTABLE,
				     HTTP_PAYLOAD_TOO_LARGE,
				     HTTP_UNSUPPORTED_MEDIA,
				     HTTP_INTERNAL_ERROR,
				     HTTP_UNAVAILABLE};
#define N_COUNTED JS_ARRAY_LEN(counted_status)

/* What a pool thread owns; freed by gql_server_stop after the threads end. */
struct tctx {
	struct gql_server *srv;
	PGconn *db;
	struct jira_client *jira;
	struct engine_conn *eng;
	struct arena arena; /* the thread's requests, one after another (reset, not freed) */
	struct store_user_cache *users;
	struct tctx *next;
};

/* Upper bounds (seconds) of the request duration histogram. */
static const double duration_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
#define N_DURATION (sizeof duration_le / sizeof duration_le[0])

struct gql_server {
	const struct config *cfg;
	struct gql_schema *schema;
	struct gql_engine *engine;
	struct MHD_Daemon **daemons; /* one per thread, fed by the acceptor */
	size_t n_daemons;
	int listen_fd;      /* -1 until listening */
	pthread_t acceptor; /* accepts and hands each connection to a daemon */
	bool acceptor_started;
	atomic_bool stopping;
	char *cors_origin;    /* CORS_ORIGIN; NULL: no CORS headers */
	pthread_mutex_t lock; /* threads list, Redis connection */
	struct tctx *threads;
	struct engine *queue; /* for queue depth and the Redis check */
	struct engine_conn *queue_conn;
	atomic_uint_fast64_t requests[N_COUNTED + 1];
	/* Time the server spends on a /graphql request, from its complete
	 * body to its queued response: requests per bucket of duration_le
	 * (the last: above them all), summed up when /metrics is read. */
	atomic_uint_fast64_t duration[N_DURATION + 1];
	atomic_uint_fast64_t duration_sum_us;
	struct rcache *rcache; /* GRAPHQL_CACHE_MB; NULL: off */
};

static _Thread_local struct tctx *tls;

/* Per-connection upload state. */
struct upload {
	struct buf body;
	bool too_large;
};

/* ---- small helpers ---------------------------------------------------------------- */
static void count_status(struct gql_server *s, int status)
{
	size_t i = 0;
	while (i < N_COUNTED && counted_status[i] != status)
		i++;
	atomic_fetch_add(&s->requests[i], 1);
}

static void observe_duration(struct gql_server *s, int64_t us)
{
	if (us < 0)
		us = 0;
	size_t i = 0;
	while (i < N_DURATION && (double)us > duration_le[i] * 1e6)
		i++;
	atomic_fetch_add(&s->duration[i], 1);
	atomic_fetch_add(&s->duration_sum_us, (uint_fast64_t)us);
}

static struct tctx *thread_ctx(struct gql_server *s)
{
	if (tls && tls->srv == s)
		return tls;
	struct tctx *t = xcalloc(1, sizeof *t);
	t->srv = s;
	t->users = store_user_cache_new();
	pthread_mutex_lock(&s->lock);
	t->next = s->threads;
	s->threads = t;
	pthread_mutex_unlock(&s->lock);
	tls = t;
	return t;
}

/* The thread's PostgreSQL connection, (re)connected when needed; may be NULL
 * when the server is unreachable (reads then fail with DB_UNAVAILABLE). */
static PGconn *thread_db(struct tctx *t)
{
	char e[STORE_ERRLEN];
	if (t->db && PQstatus(t->db) != CONNECTION_OK) {
		PQreset(t->db);
		if (PQstatus(t->db) == CONNECTION_OK && store_read_prepare(t->db, e, sizeof e) < 0)
			log_warn("graphql: cannot prepare reads", "error", e);
	}
	if (!t->db) {
		t->db = pg_connect(t->srv->cfg->database_url, e, sizeof e);
		if (!t->db)
			log_error("graphql: cannot connect to postgresql", "error", e);
		else if (store_read_prepare(t->db, e, sizeof e) < 0)
			log_warn("graphql: cannot prepare reads", "error", e);
	}
	return t->db;
}

static enum MHD_Result send_buf(struct MHD_Connection *c, struct gql_server *s, int status,
				const char *content_type, struct buf *body, const char *allow,
				bool count)
{
	size_t len = body->len;
	struct MHD_Response *r = MHD_create_response_from_buffer(len, buf_detach(body),
								 MHD_RESPMEM_MUST_FREE);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	if (status == HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (s->cors_origin) {
		const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
		if (origin && (!strcmp(s->cors_origin, "*") || !strcmp(s->cors_origin, origin))) {
			MHD_add_response_header(r, "Access-Control-Allow-Origin",
						strcmp(s->cors_origin, "*") ? origin : "*");
			MHD_add_response_header(r, "Vary", "Origin");
		}
	}
	if (count)
		count_status(s, status);
	enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result send_text(struct MHD_Connection *c, struct gql_server *s, int status,
				 const char *content_type, const char *text)
{
	struct buf b;
	buf_init(&b, 0);
	if (buf_puts(&b, text) < 0)
		buf_reset(&b);
	return send_buf(c, s, status, content_type, &b, NULL, false);
}

static const char *media_type_name(enum media m)
{
	return m == MEDIA_GQL_RESPONSE ? MT_GQL_RESPONSE "; charset=utf-8"
				       : MT_JSON "; charset=utf-8";
}

/* A GraphQL error response {"errors":[{message, extensions:{code}}]}. */
static enum MHD_Result send_error(struct MHD_Connection *c, struct gql_server *s, int status,
				  enum media m, const char *code, const char *message,
				  const char *allow)
{
	struct buf b;
	buf_init(&b, 0);
	int rc = buf_puts(&b, "{\"errors\":[{\"message\":");
	rc |= buf_json_str(&b, message);
	rc |= buf_puts(&b, ",\"extensions\":{\"code\":");
	rc |= buf_json_str(&b, code);
	rc |= buf_puts(&b, "}}]}");
	(void)rc;
	return send_buf(c, s, status, media_type_name(m), &b, allow, true);
}

/* ---- content negotiation ------------------------------------------------------------- */
/* Case-insensitive prefix match of a media range token (no parameters). */
static bool token_is(const char *p, size_t n, const char *what)
{
	return strlen(what) == n && strncasecmp(p, what, n) == 0;
}

/*
 * Pick the response media type from Accept: the highest q among the types we
 * serve (graphql-response+json wins ties, and is the default when there is no
 * Accept header, as the draft says after its 2025 watershed). -1: 406.
 */
static int negotiate(const char *accept)
{
	if (!accept || !*accept)
		return MEDIA_GQL_RESPONSE;
	double best_q = 0;
	int best = -1;
	const char *p = accept;
	while (*p) {
		size_t len = strcspn(p, ",");
		const char *end = p + len;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		size_t tl = strcspn(p, ";, \t");
		if (p + tl > end)
			tl = (size_t)(end - p);
		double q = 1.0;
		for (const char *a = p + tl; a < end; a++) {
			if (*a == ';') {
				const char *v = a + 1;
				while (v < end && *v == ' ')
					v++;
				if (end - v > 2 && (v[0] == 'q' || v[0] == 'Q') && v[1] == '=')
					q = strtod(v + 2, NULL);
			}
		}
		int m = -1;
		if (token_is(p, tl, MT_GQL_RESPONSE) || token_is(p, tl, "application/*") ||
		    token_is(p, tl, "*/*"))
			m = MEDIA_GQL_RESPONSE;
		else if (token_is(p, tl, MT_JSON))
			m = MEDIA_JSON;
		if (m >= 0 && q > 0 && (q > best_q || (q == best_q && m == MEDIA_GQL_RESPONSE))) {
			best_q = q;
			best = m;
		}
		p = *end ? end + 1 : end;
	}
	return best;
}

/* application/json, optionally with parameters (charset=utf-8). */
static bool is_json_content_type(const char *ct)
{
	if (!ct)
		return false;
	size_t n = strcspn(ct, "; \t");
	return token_is(ct, n, MT_JSON);
}

/* The first extensions.code of a refused request (its only error). */
static void first_code(const struct buf *out, char *code, size_t n)
{
	const char *p = strstr(out->data, "\"code\":\"");
	code[0] = '\0';
	if (p) {
		p += 8;
		size_t l = strcspn(p, "\"");
		snprintf(code, n, "%.*s", (int)(l < n ? l : n - 1), p);
	}
}

/* ---- /graphql ---------------------------------------------------------------------------- */
enum auth { AUTH_NONE, AUTH_READ, AUTH_ADMIN };

static enum auth authenticate(struct gql_server *s, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return AUTH_NONE;
	const char *tok = h + 7;
	while (*tok == ' ')
		tok++;
	/* Both comparisons always run: timing says nothing about which matched. */
	bool admin = s->cfg->admin_token && *s->cfg->admin_token &&
		     secret_equal(tok, s->cfg->admin_token);
	bool read = s->cfg->read_token && *s->cfg->read_token &&
		    secret_equal(tok, s->cfg->read_token);
	return admin ? AUTH_ADMIN : read ? AUTH_READ : AUTH_NONE;
}

static enum MHD_Result handle_graphql_timed(struct gql_server *s, struct MHD_Connection *c,
					    const char *method, struct upload *up);

/* The response cache's key: query, operation name and variables, each
 * ended by a NUL (which none of them can hold). */
static int cache_key(struct buf *k, const char *query, const char *op_name, const char *vars)
{
	buf_init(k, MAX_BODY_BYTES * 2);
	return buf_append(k, query, strlen(query) + 1) ||
			       buf_append(k, op_name ? op_name : "",
					  op_name ? strlen(op_name) + 1 : 1) ||
			       buf_append(k, vars ? vars : "", vars ? strlen(vars) + 1 : 1)
		       ? -1
		       : 0;
}

static int read_snapshot(PGconn *db, char snap[SNAPSHOT_MAX])
{
	char e[STORE_ERRLEN];
	if (store_read_snapshot(db, snap, SNAPSHOT_MAX, e, sizeof e) == 0)
		return 0;
	log_debug("graphql: no snapshot for the response cache", "error", e);
	return -1;
}

/* One request's dealings with the response cache. */
struct keep {
	PGconn *db;
	struct buf key;
	bool keyed;     /* the request has a key: the cache is on */
	bool query;     /* the engine accepted it as a query */
	bool have_snap; /* snap holds the snapshot before its first read */
	char snap[SNAPSHOT_MAX];
};

/* gql_request.accepted: a query is about to read; note the snapshot first
 * (unless the lookup already read it). Refused requests never get here, so
 * they never touch PostgreSQL. */
static void keep_accepted(void *arg, bool query)
{
	struct keep *k = arg;
	k->query = query;
	if (query && !k->have_snap)
		k->have_snap = read_snapshot(k->db, k->snap) == 0;
}

static enum MHD_Result handle_graphql(struct gql_server *s, struct MHD_Connection *c,
				      const char *method, struct upload *up)
{
	int64_t t0 = mono_us();
	enum MHD_Result rc = handle_graphql_timed(s, c, method, up);
	observe_duration(s, mono_us() - t0);
	return rc;
}

static enum MHD_Result handle_graphql_timed(struct gql_server *s, struct MHD_Connection *c,
					    const char *method, struct upload *up)
{
	bool get = !strcmp(method, MHD_HTTP_METHOD_GET);
	bool post = !strcmp(method, MHD_HTTP_METHOD_POST);
	if (!strcmp(method, MHD_HTTP_METHOD_OPTIONS) && s->cors_origin) {
		struct buf b = BUF_INIT;
		buf_init(&b, 0);
		struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL,
									 MHD_RESPMEM_PERSISTENT);
		const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
		if (origin && (!strcmp(s->cors_origin, "*") || !strcmp(s->cors_origin, origin))) {
			MHD_add_response_header(r, "Access-Control-Allow-Origin",
						strcmp(s->cors_origin, "*") ? origin : "*");
			MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST");
			MHD_add_response_header(r, "Access-Control-Allow-Headers",
						"Authorization, Content-Type, Accept");
			MHD_add_response_header(r, "Access-Control-Max-Age", "600");
			MHD_add_response_header(r, "Vary", "Origin");
		}
		buf_release(&b);
		count_status(s, HTTP_NO_CONTENT);
		enum MHD_Result rc = MHD_queue_response(c, HTTP_NO_CONTENT, r);
		MHD_destroy_response(r);
		return rc;
	}
	int media = negotiate(
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
	if (!get && !post)
		return send_error(c, s, HTTP_METHOD_NOT_ALLOWED,
				  media < 0 ? MEDIA_JSON : (enum media)media, "METHOD_NOT_ALLOWED",
				  "use GET (queries) or POST", "GET, POST");
	if (media < 0)
		return send_error(c, s, HTTP_NOT_ACCEPTABLE, MEDIA_JSON, "NOT_ACCEPTABLE",
				  "Accept must allow " MT_GQL_RESPONSE " or " MT_JSON, NULL);
	enum media m = (enum media)media;
	enum auth who = authenticate(s, c);
	if (who == AUTH_NONE)
		return send_error(c, s, HTTP_UNAUTHORIZED, m, "UNAUTHENTICATED",
				  "a valid bearer token is required", NULL);
	if (up->too_large)
		return send_error(c, s, HTTP_PAYLOAD_TOO_LARGE, m, "REQUEST_TOO_LARGE",
				  "the request body exceeds the size limit", NULL);

	/* The request parameters, from the JSON body or the query string. */
	cJSON *body = NULL;
	const char *query = NULL, *op_name = NULL;
	char *vars = NULL;
	const char *bad = NULL;
	if (post) {
		if (!is_json_content_type(MHD_lookup_connection_value(
			    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE)))
			return send_error(c, s, HTTP_UNSUPPORTED_MEDIA, m, "UNSUPPORTED_MEDIA_TYPE",
					  "the request body must be " MT_JSON, NULL);
		body = cJSON_ParseWithLength(up->body.data, up->body.len);
		const cJSON *q = cJSON_GetObjectItemCaseSensitive(body, "query");
		const cJSON *o = cJSON_GetObjectItemCaseSensitive(body, "operationName");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "variables");
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(body, "extensions");
		if (!cJSON_IsObject(body))
			bad = "the request body must be a JSON object";
		else if (!cJSON_IsString(q))
			bad = "the request needs a \"query\" string";
		else if (o && !cJSON_IsNull(o) && !cJSON_IsString(o))
			bad = "\"operationName\" must be a string";
		else if (v && !cJSON_IsNull(v) && !cJSON_IsObject(v))
			bad = "\"variables\" must be an object";
		else if (x && !cJSON_IsNull(x) && !cJSON_IsObject(x))
			bad = "\"extensions\" must be an object";
		if (!bad) {
			query = q->valuestring;
			op_name = cJSON_IsString(o) ? o->valuestring : NULL;
			if (cJSON_IsObject(v))
				vars = cJSON_PrintUnformatted(v);
		}
	} else {
		query = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "query");
		op_name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "operationName");
		const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "variables");
		if (!query) {
			bad = "the request needs a \"query\" parameter";
		} else if (v && *v) {
			cJSON *vj = cJSON_Parse(v);
			if (cJSON_IsObject(vj))
				vars = cJSON_PrintUnformatted(vj);
			else if (!cJSON_IsNull(vj))
				bad = "\"variables\" must be a JSON object";
			cJSON_Delete(vj);
		}
		if (op_name && !*op_name)
			op_name = NULL;
	}
	if (bad) {
		cJSON_Delete(body);
		free(vars);
		return send_error(c, s, HTTP_BAD_REQUEST, m, "BAD_REQUEST", bad, NULL);
	}

	struct tctx *t = thread_ctx(s);
	PGconn *db = thread_db(t);
	/* A query answered before, in the snapshot the database is still in
	 * (an entry exists only for a request that passed every check). */
	struct keep k = {.db = db};
	if (s->rcache && db) {
		k.keyed = cache_key(&k.key, query, op_name, vars) == 0;
		struct buf hit;
		buf_init(&hit, MAX_RESPONSE_BYTES + 4096);
		enum rcache_result r = k.keyed ? rcache_get(s->rcache, k.key.data, k.key.len, NULL,
							    &hit)
					       : RCACHE_MISS;
		if (r == RCACHE_NEED_SNAP) {
			k.have_snap = read_snapshot(db, k.snap) == 0;
			r = k.have_snap ? rcache_get(s->rcache, k.key.data, k.key.len, k.snap, &hit)
					: RCACHE_MISS;
		}
		if (r == RCACHE_HIT) {
			buf_release(&k.key);
			cJSON_Delete(body);
			free(vars);
			return send_buf(c, s, HTTP_OK, media_type_name(m), &hit, NULL, true);
		}
		buf_release(&hit);
	}
	struct gql_admin_rq ctx = {
		.db = db,
		.arena = &t->arena,
		.users = t->users,
		.user_epoch = -1,
		.cfg = s->cfg,
		.jira = &t->jira,
		.queue = s->queue,
		.eng = &t->eng,
	};
	struct gql_request rq = {
		.query = query,
		.query_len = strlen(query),
		.operation_name = op_name,
		.variables_json = vars,
		.ctx = &ctx,
		.allow_mutations = post && who == AUTH_ADMIN,
		.arena = &t->arena,
		.accepted = k.keyed ? keep_accepted : NULL,
		.accepted_arg = &k,
	};
	struct buf out;
	buf_init(&out, MAX_RESPONSE_BYTES + 4096);
	int rc = gql_execute(s->engine, &rq, &out);
	arena_reset(&t->arena);
	cJSON_Delete(body);
	free(vars);
	/* Kept: a query without errors that asked Jira nothing and read no data,
	 * or read it all in the snapshot that was current before and after. */
	if (k.keyed && rc == 0 && k.query && !ctx.live) {
		char after[SNAPSHOT_MAX];
		if (!ctx.read_data)
			rcache_put(s->rcache, k.key.data, k.key.len, NULL, out.data, out.len);
		else if (k.have_snap && read_snapshot(db, after) == 0 && !strcmp(k.snap, after))
			rcache_put(s->rcache, k.key.data, k.key.len, k.snap, out.data, out.len);
	}
	buf_release(&k.key);

	if (rc >= 0)
		return send_buf(c, s, HTTP_OK, media_type_name(m), &out, NULL, true);
	char code[64];
	first_code(&out, code, sizeof code);
	if (!strcmp(code, "FORBIDDEN")) {
		buf_release(&out);
		if (get)
			return send_error(c, s, HTTP_METHOD_NOT_ALLOWED, m, "METHOD_NOT_ALLOWED",
					  "mutations are accepted over POST only", "POST");
		return send_error(c, s, HTTP_FORBIDDEN, m, "FORBIDDEN",
				  "mutations need the admin token", NULL);
	}
	/* A request error. application/json: 200 for a well-formed request;
	 * graphql-response+json: 400 (there is no data entry). */
	int status = HTTP_BAD_REQUEST;
	if (m == MEDIA_JSON && strcmp(code, "BAD_REQUEST") != 0)
		status = HTTP_OK;
	return send_buf(c, s, status, media_type_name(m), &out, NULL, true);
}

/* ---- /healthz /readyz /metrics ------------------------------------------------------------- */
/* The Redis check and queue depth share one connection under the lock. */
static int queue_depth(struct gql_server *s, struct engine_depth *d)
{
	int rc = -1;
	char e[256];
	pthread_mutex_lock(&s->lock);
	for (int attempt = 0; attempt < 2 && rc < 0; attempt++) {
		if (!s->queue_conn && s->queue)
			s->queue_conn = engine_connect(s->queue, e, sizeof e);
		if (!s->queue_conn)
			break;
		if (engine_queue_depth(s->queue_conn, d) == 0) {
			rc = 0;
		} else {
			engine_conn_free(s->queue_conn);
			s->queue_conn = NULL;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static enum MHD_Result handle_readyz(struct gql_server *s, struct MHD_Connection *c)
{
	char e[STORE_ERRLEN];
	struct tctx *t = thread_ctx(s);
	PGconn *db = thread_db(t);
	bool pg = db && store_read_ping(db, e, sizeof e) == 0;
	struct engine_depth d;
	bool redis = queue_depth(s, &d) == 0;
	struct buf b;
	buf_init(&b, 0);
	int w = buf_printf(&b, "postgresql: %s\nredis: %s\n", pg ? "ok" : "unreachable",
			   redis ? "ok" : "unreachable");
	(void)w;
	return send_buf(c, s, pg && redis ? HTTP_OK : HTTP_UNAVAILABLE, "text/plain; charset=utf-8",
			&b, NULL, false);
}

/* One metric with a single value, with its HELP and TYPE lines. */
static int metric(struct buf *b, const char *name, const char *type, const char *help, uint64_t v)
{
	return buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help, name, type,
			  name, v);
}

static enum MHD_Result handle_metrics(struct gql_server *s, struct MHD_Connection *c)
{
	struct buf b;
	buf_init(&b, 0);
	int w = 0;
	struct arena a;
	arena_init(&a);
	struct store_metrics m;
	char e[STORE_ERRLEN];
	PGconn *db = thread_db(thread_ctx(s));
	bool pg = db && store_read_metrics(db, &a, &m, e, sizeof e) == 0;
	if (!pg)
		log_warn("graphql: metrics: cannot read runs", "error", e);
	w |= buf_printf(&b,
			"# HELP jirasync_up_postgresql Whether PostgreSQL answered this scrape.\n"
			"# TYPE jirasync_up_postgresql gauge\njirasync_up_postgresql %d\n",
			pg);
	if (pg) {
		w |= buf_puts(&b, "# HELP jirasync_sync_runs Sync runs by status.\n"
				  "# TYPE jirasync_sync_runs gauge\n");
		w |= buf_printf(&b,
				"jirasync_sync_runs{status=\"RUNNING\"} %" PRId64 "\n"
				"jirasync_sync_runs{status=\"SUCCESS\"} %" PRId64 "\n"
				"jirasync_sync_runs{status=\"FAILED\"} %" PRId64 "\n",
				m.runs_running, m.runs_success, m.runs_failed);
		w |= buf_puts(
			&b,
			"# HELP jirasync_sync_run_duration_seconds Durations of finished runs.\n"
			"# TYPE jirasync_sync_run_duration_seconds histogram\n");
		for (int i = 0; i < STORE_RUN_BUCKETS; i++)
			w |= buf_printf(
				&b,
				"jirasync_sync_run_duration_seconds_bucket{le=\"%g\"} %" PRId64
				"\n",
				store_run_bucket_le[i], m.duration_bucket[i]);
		w |= buf_printf(&b,
				"jirasync_sync_run_duration_seconds_bucket{le=\"+Inf\"} %" PRId64
				"\n"
				"jirasync_sync_run_duration_seconds_sum %.3f\n"
				"jirasync_sync_run_duration_seconds_count %" PRId64 "\n",
				m.duration_count, m.duration_sum_s, m.duration_count);
		w |= buf_printf(
			&b,
			"# HELP jirasync_jira_requests_total Requests made to Jira by runs.\n"
			"# TYPE jirasync_jira_requests_total counter\n"
			"jirasync_jira_requests_total %" PRId64 "\n",
			m.jira_requests);
		w |= buf_puts(
			&b,
			"# HELP jirasync_jira_errors_total Jira failures logged, by classified code.\n"
			"# TYPE jirasync_jira_errors_total counter\n");
		for (size_t i = 0; i < m.n_errors; i++) {
			const char *code = m.errors[i].code ? m.errors[i].code : "";
			bool ok = strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789") ==
				  strlen(code);
			w |= buf_printf(&b, "jirasync_jira_errors_total{code=\"%s\"} %" PRId64 "\n",
					ok ? code : "OTHER", m.errors[i].n);
		}
	}
	struct engine_depth d;
	bool redis = queue_depth(s, &d) == 0;
	w |= buf_printf(&b,
			"# HELP jirasync_up_redis Whether Redis answered this scrape.\n"
			"# TYPE jirasync_up_redis gauge\njirasync_up_redis %d\n",
			redis);
	if (redis)
		w |= buf_printf(&b,
				"# HELP jirasync_queue_depth Tasks in the queue by state.\n"
				"# TYPE jirasync_queue_depth gauge\n"
				"jirasync_queue_depth{state=\"ready\"} %" PRId64 "\n"
				"jirasync_queue_depth{state=\"pending\"} %" PRId64 "\n"
				"jirasync_queue_depth{state=\"delayed\"} %" PRId64 "\n"
				"jirasync_queue_depth{state=\"dead\"} %" PRId64 "\n",
				d.ready, d.pending, d.delayed, d.dead);
	w |= buf_puts(&b,
		      "# HELP jirasync_graphql_requests_total GraphQL HTTP requests by status.\n"
		      "# TYPE jirasync_graphql_requests_total counter\n");
	for (size_t i = 0; i <= N_COUNTED; i++) {
		uint64_t n = atomic_load(&s->requests[i]);
		if (i == N_COUNTED)
			w |= buf_printf(&b,
					"jirasync_graphql_requests_total{status=\"other\"} %" PRIu64
					"\n",
					n);
		else
			w |= buf_printf(
				&b, "jirasync_graphql_requests_total{status=\"%d\"} %" PRIu64 "\n",
				counted_status[i], n);
	}
	w |= buf_puts(&b, "# HELP jirasync_graphql_request_duration_seconds Time the server spends"
			  " on a GraphQL request, from its whole body to its queued response.\n"
			  "# TYPE jirasync_graphql_request_duration_seconds histogram\n");
	uint64_t n_req = 0;
	for (size_t i = 0; i <= N_DURATION; i++) {
		n_req += atomic_load(&s->duration[i]);
		if (i < N_DURATION)
			w |= buf_printf(
				&b,
				"jirasync_graphql_request_duration_seconds_bucket{le=\"%g\"} "
				"%" PRIu64 "\n",
				duration_le[i], n_req);
	}
	w |= buf_printf(&b,
			"jirasync_graphql_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64
			"\n"
			"jirasync_graphql_request_duration_seconds_sum %.6f\n"
			"jirasync_graphql_request_duration_seconds_count %" PRIu64 "\n",
			n_req, (double)atomic_load(&s->duration_sum_us) / 1e6, n_req);
	w |= metric(&b, "jirasync_graphql_sql_statements_total", "counter",
		    "SQL statements run by GraphQL reads.", store_read_statements());
	struct gql_cache_stats cs;
	gql_engine_cache_stats(s->engine, &cs);
	w |= metric(&b, "jirasync_graphql_document_cache_hits_total", "counter",
		    "Parsed-document cache hits.", cs.hits);
	w |= metric(&b, "jirasync_graphql_document_cache_misses_total", "counter",
		    "Parsed-document cache misses.", cs.misses);
	if (s->rcache) {
		struct rcache_stats rs;
		rcache_stats(s->rcache, &rs);
		w |= metric(&b, "jirasync_graphql_response_cache_hits_total", "counter",
			    "Queries answered from the response cache (same request, same"
			    " database snapshot).",
			    rs.hits);
		w |= metric(&b, "jirasync_graphql_response_cache_misses_total", "counter",
			    "Requests the response cache could not answer.", rs.misses);
		w |= metric(&b, "jirasync_graphql_response_cache_stale_total", "counter",
			    "Kept responses found stale: the database committed since they were"
			    " read.",
			    rs.stale);
		w |= metric(&b, "jirasync_graphql_response_cache_bytes", "gauge",
			    "Memory held by kept responses.", rs.bytes);
	}
	w |= buf_puts(
		&b, "# HELP jirasync_graphql_connections Open HTTP connections by server thread.\n"
		    "# TYPE jirasync_graphql_connections gauge\n");
	for (size_t i = 0; i < s->n_daemons; i++) {
		const union MHD_DaemonInfo *di = MHD_get_daemon_info(
			s->daemons[i], MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		w |= buf_printf(&b, "jirasync_graphql_connections{thread=\"%zu\"} %u\n", i,
				di ? di->num_connections : 0u);
	}
	(void)w;
	arena_release(&a);
	return send_buf(c, s, HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &b, NULL, false);
}

/* ---- dispatch -------------------------------------------------------------------------------- */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	(void)version;
	struct gql_server *s = cls;
	struct upload *up = *con_cls;
	if (!up) {
		up = xcalloc(1, sizeof *up);
		buf_init(&up->body, MAX_BODY_BYTES);
		*con_cls = up;
		return MHD_YES;
	}
	if (*data_size) {
		if (!up->too_large && buf_append(&up->body, data, *data_size) < 0)
			up->too_large = true;
		*data_size = 0;
		return MHD_YES;
	}
	if (!strcmp(url, "/graphql"))
		return handle_graphql(s, c, method, up);
	if (!strcmp(url, "/healthz"))
		return send_text(c, s, HTTP_OK, "text/plain; charset=utf-8", "ok\n");
	if (!strcmp(url, "/readyz"))
		return handle_readyz(s, c);
	if (!strcmp(url, "/metrics"))
		return handle_metrics(s, c);
	return send_text(c, s, HTTP_NOT_FOUND, "text/plain; charset=utf-8", "not found\n");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct upload *up = *con_cls;
	if (up) {
		buf_release(&up->body);
		free(up);
		*con_cls = NULL;
	}
}

/* ---- start and stop ----------------------------------------------------------------------------- */
static int load_schema(struct gql_server *s, const char *path, char *err, size_t errlen)
{
	char src[4096];
	const char *candidates[4] = {path, getenv("SCHEMA_PATH"), "schema.graphql", NULL};
	/* The source tree's copy: graphql/server.c -> ../schema.graphql. */
	const char *file = __FILE__;
	const char *slash = strrchr(file, '/');
	if (slash && slash - file > 8 && file[0] == '/') {
		snprintf(src, sizeof src, "%.*s/schema.graphql", (int)(slash - file - 8), file);
		candidates[3] = src;
	}
	struct buf sdl;
	buf_init(&sdl, 4u << 20);
	const char *used = NULL;
	for (size_t i = 0; i < JS_ARRAY_LEN(candidates) && !used; i++)
		if (candidates[i] && *candidates[i] && buf_read_file(&sdl, candidates[i]) == 0)
			used = candidates[i];
	int rc = -1;
	char e[512];
	if (!used) {
		snprintf(err, errlen, "cannot read schema.graphql (set SCHEMA_PATH)");
		goto out;
	}
	s->schema = gql_schema_new();
	if (gql_schema_load(s->schema, sdl.data, sdl.len, e, sizeof e) < 0) {
		snprintf(err, errlen, "schema '%s': %s", used, e);
		goto out;
	}
	if (gql_admin_bind(s->schema, e, sizeof e) < 0) {
		snprintf(err, errlen, "schema '%s': %s", used, e);
		goto out;
	}
	if (gql_schema_check_bound(s->schema, e, sizeof e) < 0) {
		snprintf(err, errlen, "schema '%s': fields without a resolver: %s", used, e);
		goto out;
	}
	rc = 0;
out:
	buf_release(&sdl);
	return rc;
}

/* "host:port", ":port" or "[v6]:port" into a socket address. */
static int resolve_listen(const char *addr, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	if (!colon || !colon[1]) {
		snprintf(err, errlen, "LISTEN_ADDR '%s' must be host:port", addr);
		return -1;
	}
	size_t hl = (size_t)(colon - addr);
	if (hl >= sizeof host)
		hl = sizeof host - 1;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	char *h = host;
	if (h[0] == '[' && hl > 1 && h[hl - 1] == ']') {
		h[hl - 1] = '\0';
		h++;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int g = getaddrinfo(*h ? h : NULL, colon + 1, &hints, &res);
	if (g != 0 || !res) {
		snprintf(err, errlen, "LISTEN_ADDR '%s': %s", addr, gai_strerror(g));
		return -1;
	}
	memset(ss, 0, sizeof *ss);
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

/* The listening socket on ss. */
static int listen_socket(const struct sockaddr_storage *ss, char *err, size_t errlen)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						  : sizeof(struct sockaddr_in);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 511) < 0) {
		char a[64] = "?";
		const void *ip =
			ss->ss_family == AF_INET6
				? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
				: (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
		inet_ntop(ss->ss_family, ip, a, sizeof a);
		unsigned port = ntohs(ss->ss_family == AF_INET6
					      ? ((const struct sockaddr_in6 *)ss)->sin6_port
					      : ((const struct sockaddr_in *)ss)->sin_port);
		snprintf(err, errlen, "cannot listen on %s port %u: %s", a, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * The acceptor: connections go to the threads in turn, so 32 connections
 * opened together are served 16 and 16 by two threads. (A thread pool
 * sharing the listening socket lets whichever thread wakes first take a
 * whole burst; a listener per thread with SO_REUSEPORT spreads them by a
 * hash of the client's address, unevenly, and the threads with more
 * connections then set the tail latency. Counting each thread's open
 * connections is no better: a client that closes and reopens them all
 * finds the counts stale.)
 */
static void *acceptor_main(void *arg)
{
	struct gql_server *s = arg;
	size_t rr = 0;
	while (!atomic_load(&s->stopping)) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof peer;
		int fd = accept(s->listen_fd, (struct sockaddr *)&peer, &pl);
		if (fd < 0) {
			if (atomic_load(&s->stopping))
				break;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* EMFILE and the like: let the daemons close something. */
			log_warn("graphql: accept failed", "error", strerror(errno));
			struct timespec ts = {0, 50 * 1000 * 1000};
			nanosleep(&ts, NULL);
			continue;
		}
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		/* On failure MHD closes the socket itself. */
		(void)MHD_add_connection(s->daemons[rr++ % s->n_daemons], fd,
					 (struct sockaddr *)&peer, pl);
	}
	return NULL;
}

struct gql_server *gql_server_start(const struct config *cfg, const char *schema_path, char *err,
				    size_t errlen)
{
	struct gql_server *s = xcalloc(1, sizeof *s);
	pthread_mutex_init(&s->lock, NULL);
	s->listen_fd = -1;
	s->cfg = cfg;
	if (!cfg->admin_token || !*cfg->admin_token) {
		snprintf(err, errlen, "ADMIN_TOKEN is required to serve the admin plane");
		goto fail;
	}
	if (!cfg->database_url) {
		snprintf(err, errlen, "DATABASE_URL is required");
		goto fail;
	}
	if (load_schema(s, schema_path, err, errlen) < 0)
		goto fail;
	/* Each request allocates and frees the same few hundred KiB (arenas,
	 * the response): keep that memory in the process instead of returning
	 * it to the kernel after every request and faulting it back in. */
	mallopt(M_MMAP_THRESHOLD, 16 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	struct gql_limits lim;
	gql_limits_default(&lim);
	/* The cost estimate multiplies list fields without a size argument
	 * (a connection's edges, an issue's comments) by this. */
	lim.default_list_size = 20;
	lim.max_response_bytes = MAX_RESPONSE_BYTES;
	s->engine = gql_engine_new(s->schema, &lim, 512);
	const char *cors = getenv("CORS_ORIGIN");
	s->cors_origin = cors && *cors ? xstrdup(cors) : NULL;
	if (cfg->redis_url) {
		char e[256];
		struct engine_options eo = {.redis_url = cfg->redis_url,
					    .command_timeout_ms = 2000};
		s->queue = engine_new(&eo, e, sizeof e);
		if (!s->queue)
			log_warn("graphql: no queue metrics", "error", e);
	}
	long cache_mb = 64;
	const char *cm = getenv("GRAPHQL_CACHE_MB");
	if (cm && *cm && parse_int_range(cm, 0, 65536, &cache_mb) < 0) {
		snprintf(err, errlen, "GRAPHQL_CACHE_MB must be a number from 0 to 65536");
		goto fail;
	}
	if (cache_mb > 0)
		s->rcache = rcache_new((size_t)cache_mb << 20);
	long threads = 4;
	const char *th = getenv("GRAPHQL_THREADS");
	if (th && *th && parse_int_range(th, 1, 64, &threads) < 0) {
		snprintf(err, errlen, "GRAPHQL_THREADS must be a number from 1 to 64");
		goto fail;
	}
	struct sockaddr_storage ss;
	const char *listen = cfg->listen_addr ? cfg->listen_addr : "127.0.0.1:8080";
	if (resolve_listen(listen, &ss, err, errlen) < 0)
		goto fail;
	/* One single-threaded daemon per thread, given its connections by the
	 * acceptor (acceptor_main). */
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->listen_fd = listen_socket(&ss, err, errlen);
	if (s->listen_fd < 0)
		goto fail;
	s->daemons = xcalloc((size_t)threads, sizeof *s->daemons);
	for (long i = 0; i < threads; i++) {
		s->daemons[i] = MHD_start_daemon(
			flags, 0, NULL, NULL, on_request, s, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
			MHD_OPTION_CONNECTION_LIMIT, (unsigned)(1000 / threads + 1),
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
		if (!s->daemons[i]) {
			snprintf(err, errlen, "cannot serve on '%s': %s", listen, strerror(errno));
			goto fail;
		}
		s->n_daemons++;
	}
	if (pthread_create(&s->acceptor, NULL, acceptor_main, s) != 0) {
		snprintf(err, errlen, "cannot start the accepting thread");
		goto fail;
	}
	s->acceptor_started = true;
	char n[24];
	log_info("graphql admin plane listening", "addr", listen, "#threads", fmt_i64(n, threads));
	return s;
fail:
	gql_server_stop(s);
	return NULL;
}

void gql_server_stop(struct gql_server *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, true);
	if (s->acceptor_started) {
		/* Wakes the acceptor out of accept() (EINVAL); then it sees stopping. */
		shutdown(s->listen_fd, SHUT_RDWR);
		pthread_join(s->acceptor, NULL);
	}
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	for (size_t i = 0; i < s->n_daemons; i++)
		MHD_stop_daemon(s->daemons[i]); /* joins its thread */
	free(s->daemons);
	for (struct tctx *t = s->threads, *next; t; t = next) {
		next = t->next;
		PQfinish(t->db);
		jira_client_free(t->jira);
		engine_conn_free(t->eng);
		arena_release(&t->arena);
		store_user_cache_free(t->users);
		free(t);
	}
	engine_conn_free(s->queue_conn);
	engine_free(s->queue);
	gql_engine_free(s->engine);
	gql_schema_free(s->schema);
	rcache_free(s->rcache);
	free(s->cors_origin);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

struct service {
	struct gql_server *srv;
	atomic_int *stop;
};

int gql_service_start(const struct config *cfg, atomic_int *stop, void **handle, char *err,
		      size_t errlen)
{
	struct gql_server *s = gql_server_start(cfg, NULL, err, errlen);
	if (!s)
		return -1;
	struct service *sv = xcalloc(1, sizeof *sv);
	sv->srv = s;
	sv->stop = stop;
	*handle = sv;
	return 0;
}

int gql_service_wait(void *handle)
{
	struct service *sv = handle;
	if (!sv)
		return 0;
	while (!atomic_load(sv->stop))
		sleep_ms(100);
	gql_server_stop(sv->srv);
	free(sv);
	return 0;
}

int gql_serve_cli(int argc, char **argv)
{
	const char *schema = NULL, *listen = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--schema") && i + 1 < argc) {
			schema = argv[++i];
		} else if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
			listen = argv[++i];
		} else if (!strcmp(argv[i], "--help")) {
			fputs("usage: jirasync serve [--schema PATH] [--listen HOST:PORT]\n"
			      "  Serve the GraphQL admin plane (/graphql, /healthz, /readyz, /metrics)\n"
			      "  until SIGINT or SIGTERM. Needs DATABASE_URL, REDIS_URL, ADMIN_TOKEN.\n",
			      stdout);
			return EXIT_OK;
		} else {
			fprintf(stderr, "jirasync serve: unexpected argument '%s'\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	struct config cfg;
	char e[512];
	int code = EXIT_CONFIG;
	if (config_load(&cfg, JS_NEED_DB | JS_NEED_REDIS, e, sizeof e) < 0) {
		fprintf(stderr, "jirasync: %s\n", e);
		return EXIT_CONFIG;
	}
	if (listen && config_set(&cfg, "LISTEN_ADDR", listen, e, sizeof e) < 0) {
		fprintf(stderr, "jirasync serve: %s\n", e);
		goto out;
	}
	if (!cfg.admin_token || !*cfg.admin_token) {
		fprintf(stderr, "jirasync: ADMIN_TOKEN is required for serve\n");
		goto out;
	}
	/* Block the stop signals before the pool threads start so that only
	 * sigwait below sees them. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct gql_server *s = gql_server_start(&cfg, schema, e, sizeof e);
	if (!s) {
		fprintf(stderr, "jirasync serve: %s\n", e);
		code = EXIT_FAILED;
		goto out;
	}
	int sig = 0;
	sigwait(&set, &sig);
	log_info("graphql admin plane stopping");
	gql_server_stop(s);
	code = EXIT_OK;
out:
	config_release(&cfg);
	return code;
}
