/*
 * jira-sim: a Jira Cloud / Data Center simulator for the integration tests
 * and benchmarks. This file holds the command line, the HTTP server
 * (libmicrohttpd, one thread per connection), authentication, fault
 * injection, request statistics and the response helpers; the Jira
 * endpoints live in api.c, the control API (/_sim) in control.c, the data
 * in data.c, the JQL subset in jql.c and the hidden checker modes in check.c.
 */
#include "tests/jira-sim/sim.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <strings.h>

/* ---- response helpers --------------------------------------------------- */
void out(struct buf *b, const char *s)
{
	if (buf_puts(b, s) < 0)
		abort();
}

void outn(struct buf *b, const char *s, size_t n)
{
	if (buf_append(b, s, n) < 0)
		abort();
}

void outf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	if (rc < 0)
		abort();
}

void out_str(struct buf *b, const char *s)
{
	if (!s) {
		out(b, "null");
		return;
	}
	if (buf_json_str(b, s) < 0)
		abort();
}

void out_time(struct buf *b, int64_t ms, int offset_min)
{
	if (ms == JS_TIME_NULL) {
		out(b, "null");
		return;
	}
	char t[32];
	jtime_format_jira(t, ms, offset_min);
	outf(b, "\"%s\"", t);
}

void resp_header(struct sim_resp *w, const char *name, const char *fmt, ...)
{
	if (w->n_headers >= SIM_MAX_HEADERS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->hval[w->n_headers], sizeof(w->hval[0]), fmt, ap);
	va_end(ap);
	w->hname[w->n_headers++] = name;
}

void resp_json(struct sim_resp *w, int status, const char *json)
{
	w->status = status;
	w->ctype = "application/json;charset=UTF-8";
	buf_reset(&w->body);
	out(&w->body, json);
}

void resp_error(struct sim_resp *w, int status, const char *msg)
{
	w->status = status;
	w->ctype = "application/json;charset=UTF-8";
	buf_reset(&w->body);
	out(&w->body, "{\"errorMessages\":[");
	out_str(&w->body, msg);
	out(&w->body, "],\"errors\":{}}");
}

void resp_not_found_html(struct sim_resp *w)
{
	w->status = 404;
	w->ctype = "text/html;charset=UTF-8";
	buf_reset(&w->body);
	out(&w->body, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		      "<title>Oops, you&#39;ve found a dead link. - JIRA</title></head><body>"
		      "<div class=\"aui-page-panel\"><h1>Oops, you've found a dead link.</h1>"
		      "<p>Use the links at the top to get back.</p></div></body></html>\n");
}

const char *sim_arg(const struct sim_req *r, const char *name)
{
	return MHD_lookup_connection_value((struct MHD_Connection *)r->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

/* ---- statistics ---------------------------------------------------------- */
/* "/rest/api/3/issue/10001/comment" -> "/rest/api/3/issue/{id}/comment":
 * numeric segments and issue keys become {id}. */
static void normalise_path(const char *path, char *outp, size_t n)
{
	struct buf b = BUF_INIT;
	const char *p = path;
	while (*p) {
		const char *slash = strchr(p + 1, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		/* segment is p[1..len) */
		const char *seg = p + 1;
		size_t sl = len - 1;
		bool digits = sl > 0, key = false;
		for (size_t i = 0; i < sl; i++)
			digits &= seg[i] >= '0' && seg[i] <= '9';
		const char *dash = memchr(seg, '-', sl);
		if (!digits && dash && dash > seg && dash < seg + sl - 1) {
			key = true;
			for (const char *c = dash + 1; c < seg + sl; c++)
				key &= *c >= '0' && *c <= '9';
			for (const char *c = seg; c < dash; c++)
				key &= (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
				       *c == '_';
		}
		/* "/rest/api/3": the version is no id. */
		bool version = b.len >= 4 && strcmp(b.data + b.len - 4, "/api") == 0;
		if ((digits && !version) || key)
			out(&b, "/{id}");
		else
			outn(&b, p, len);
		p += len;
	}
	snprintf(outp, n, "%s", b.data);
	buf_release(&b);
}

/* One more (+1) or one fewer (-1) API request being answered. */
static void in_flight(int d)
{
	pthread_mutex_lock(&SIM.meta_lock);
	SIM.in_flight += d;
	if (SIM.in_flight > SIM.max_in_flight)
		SIM.max_in_flight = SIM.in_flight;
	pthread_mutex_unlock(&SIM.meta_lock);
}

static void stats_count(const char *path)
{
	char norm[128];
	normalise_path(path, norm, sizeof(norm));
	pthread_mutex_lock(&SIM.meta_lock);
	SIM.stats_total++;
	size_t i;
	for (i = 0; i < SIM.n_stats; i++)
		if (strcmp(SIM.stats[i].path, norm) == 0)
			break;
	if (i == SIM.n_stats && i < JS_ARRAY_LEN(SIM.stats)) {
		snprintf(SIM.stats[i].path, sizeof(SIM.stats[i].path), "%s", norm);
		SIM.stats[i].n = 0;
		SIM.n_stats++;
	}
	if (i < SIM.n_stats)
		SIM.stats[i].n++;
	pthread_mutex_unlock(&SIM.meta_lock);
}

/* ---- faults ------------------------------------------------------------- */
static bool take_fault(const char *path, struct sim_fault *f)
{
	bool hit = false;
	pthread_mutex_lock(&SIM.meta_lock);
	for (size_t i = 0; i < SIM.n_faults; i++) {
		struct sim_fault *x = &SIM.faults[i];
		if (x->count > 0 && strncmp(path, x->path, strlen(x->path)) == 0) {
			*f = *x;
			if (--x->count == 0) {
				memmove(x, x + 1, (SIM.n_faults - i - 1) * sizeof(*x));
				SIM.n_faults--;
			}
			hit = true;
			break;
		}
	}
	pthread_mutex_unlock(&SIM.meta_lock);
	return hit;
}

static const char html_oops[] =
	"<!DOCTYPE html>\n<html><head><title>Oops - an error has occurred</title></head><body>"
	"<div id=\"error-state\"><h1>Oops - an error has occurred</h1>"
	"<p>It seems we have run into a problem.</p></div></body></html>\n";
static const char html_unavailable[] =
	"<!DOCTYPE html>\n<html><head><title>Atlassian Cloud Notifications - Page Unavailable"
	"</title></head><body><h1>Page Unavailable</h1><p>This page is temporarily unavailable. "
	"Please try again later.</p></body></html>\n";

/* Answer with the fault; false when the request should proceed (delay,
 * truncated: handled by the caller). */
static bool fault_respond(const struct sim_fault *f, struct sim_resp *w)
{
	const char *k = f->kind;
	buf_reset(&w->body);
	if (strcmp(k, "429") == 0) {
		int ra = f->retry_after > 0 ? f->retry_after : 1;
		w->status = 429;
		w->ctype = "text/html;charset=UTF-8";
		out(&w->body, html_oops);
		resp_header(w, "Retry-After", "%d", ra);
		resp_header(w, "RateLimit-Reason", "jira-burst-based");
		resp_header(w, "X-RateLimit-Limit", "100");
		resp_header(w, "X-RateLimit-Remaining", "0");
		char t[32];
		jtime_format(t, now_ms() + ra * 1000LL);
		t[16] = '\0';
		resp_header(w, "X-RateLimit-Reset", "%sZ", t);
	} else if (strcmp(k, "500") == 0) {
		w->status = 500;
		w->ctype = "text/html;charset=UTF-8";
		out(&w->body, html_oops);
	} else if (strcmp(k, "502") == 0) {
		w->status = 502;
		w->ctype = "text/html";
		out(&w->body, html_unavailable);
	} else if (strcmp(k, "503") == 0) {
		/* Seen with an empty Content-Type during outages. */
		w->status = 503;
		w->ctype = NULL;
		out(&w->body, html_unavailable);
		if (f->retry_after > 0)
			resp_header(w, "Retry-After", "%d", f->retry_after);
	} else if (strcmp(k, "401") == 0) {
		resp_error(w, 401,
			   "You are not authenticated. Authentication required to perform this "
			   "operation.");
		resp_header(w, "X-Seraph-LoginReason", "AUTHENTICATED_FAILED");
	} else if (strcmp(k, "403_suspended") == 0) {
		resp_error(w, 403, "Tenant is restricted: suspended-payment");
	} else if (strcmp(k, "404_site") == 0) {
		resp_json(
			w, 404,
			"{\"errorMessage\":\"Site temporarily unavailable\",\"errorCode\":\"OTHER\"}");
	} else if (strcmp(k, "410") == 0) {
		resp_error(w, 410,
			   "The requested API has been removed. Please migrate to the "
			   "/rest/api/3/search/jql API. A full migration guideline is available at "
			   "https://developer.atlassian.com/changelog/#CHANGE-2046");
	} else if (strcmp(k, "malformed") == 0) {
		w->status = 200;
		w->ctype = "application/json;charset=UTF-8";
		out(&w->body, "<html><head><title>Log in - Jira</title></head><body>Please log in"
			      "</body></html>");
	} else if (strcmp(k, "drop") == 0) {
		w->drop = true;
	} else {
		return false;
	}
	return true;
}

bool sim_fault_kind_valid(const char *k)
{
	static const char *const kinds[] = {"429",       "500",           "502",      "503",
					    "401",       "403_suspended", "404_site", "410",
					    "malformed", "truncated",     "delay",    "drop"};
	for (size_t i = 0; i < JS_ARRAY_LEN(kinds); i++)
		if (strcmp(kinds[i], k) == 0)
			return true;
	return false;
}

/* ---- auth --------------------------------------------------------------- */
static int b64_encode(const char *in, size_t n, char *o, size_t on)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t k = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		if (k + 5 > on)
			return -1;
		o[k++] = tab[(v >> 18) & 63];
		o[k++] = tab[(v >> 12) & 63];
		o[k++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		o[k++] = i + 2 < n ? tab[v & 63] : '=';
	}
	o[k] = '\0';
	return 0;
}

static bool authorised(struct MHD_Connection *conn)
{
	bool need_basic = SIM.o.email && SIM.o.api_token;
	bool need_bearer = SIM.o.pat != NULL;
	if (!need_basic && !need_bearer)
		return true;
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (!h)
		return false;
	if (need_basic && strncasecmp(h, "Basic ", 6) == 0) {
		char cred[512], enc[1024];
		snprintf(cred, sizeof(cred), "%s:%s", SIM.o.email, SIM.o.api_token);
		if (b64_encode(cred, strlen(cred), enc, sizeof(enc)) == 0 &&
		    secret_equal(h + 6, enc))
			return true;
	}
	if (need_bearer && strncasecmp(h, "Bearer ", 7) == 0 && secret_equal(h + 7, SIM.o.pat))
		return true;
	return false;
}

/* ---- HTTP --------------------------------------------------------------- */
struct conn_state {
	struct buf body;
	bool too_big;
};

static enum MHD_Result queue(struct MHD_Connection *conn, struct sim_resp *w, size_t cut_to)
{
	size_t len = w->body.len;
	if (cut_to && cut_to < len)
		len = cut_to;
	char *data = buf_detach(&w->body);
	struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(data);
		return MHD_NO;
	}
	if (w->ctype)
		MHD_add_response_header(r, "Content-Type", w->ctype);
	for (int i = 0; i < w->n_headers; i++)
		MHD_add_response_header(r, w->hname[i], w->hval[i]);
	enum MHD_Result rc = MHD_queue_response(conn, (unsigned)w->status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	struct conn_state *cs = *con_cls;
	if (!cs) {
		cs = xcalloc(1, sizeof(*cs));
		buf_init(&cs->body, 16u << 20);
		*con_cls = cs;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (buf_append(&cs->body, upload_data, *upload_data_size) < 0)
			cs->too_big = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	int64_t t0 = mono_ms();
	struct sim_req req = {method, url, cs->body.data, cs->body.len, conn, {0}};
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
	snprintf(req.host, sizeof(req.host), "http://%s", host ? host : "127.0.0.1");
	struct sim_resp w;
	memset(&w, 0, sizeof(w));
	buf_init(&w.body, 0);
	size_t cut = 0;
	bool is_control = strncmp(url, "/_sim/", 6) == 0 || strcmp(url, "/_sim") == 0;

	if (cs->too_big) {
		resp_error(&w, 413, "request body too large");
	} else if (is_control) {
		if (!control_handle(&req, &w))
			resp_error(&w, 404, "unknown control endpoint");
	} else {
		stats_count(url);
		in_flight(+1);
		struct sim_fault f;
		bool faulted = take_fault(url, &f);
		if (faulted && strcmp(f.kind, "delay") == 0)
			sleep_ms(f.delay_ms > 0 ? f.delay_ms : 1000);
		if (faulted && fault_respond(&f, &w)) {
			/* answered by the fault */
		} else if (strncmp(url, "/rest/", 6) == 0 && !authorised(conn)) {
			resp_error(&w, 401,
				   "You are not authenticated. Authentication required to "
				   "perform this operation.");
			resp_header(&w, "X-Seraph-LoginReason", "AUTHENTICATED_FAILED");
		} else if (!api_handle(&req, &w)) {
			resp_not_found_html(&w);
		}
		if (faulted && strcmp(f.kind, "truncated") == 0 && w.body.len > 1) {
			w.status = 200;
			cut = w.body.len / 2;
		}
		in_flight(-1);
	}
	if (SIM.o.verbose)
		fprintf(stderr, "%s %s %d %zu %" PRId64 "ms\n", method, url, w.drop ? 0 : w.status,
			w.body.len, mono_ms() - t0);
	if (w.drop) {
		buf_release(&w.body);
		return MHD_NO;
	}
	enum MHD_Result rc = queue(conn, &w, cut);
	buf_release(&w.body);
	return rc;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	struct conn_state *cs = *con_cls;
	if (cs) {
		buf_release(&cs->body);
		free(cs);
		*con_cls = NULL;
	}
}

/* ---- command line -------------------------------------------------------- */
static void usage(void)
{
	fprintf(stderr,
		"usage: jira-sim --port N [--seed S] [--flavour cloud|dc] [--project KEY]...\n"
		"                [--issues N] [--users N] [--comments-avg F] [--worklogs-avg F]\n"
		"                [--feed-lag-ms N] [--email E --api-token T] [--pat P]\n"
		"                [--caller-tz Area/City] [--anchor-ms MS] [--verbose]\n"
		"       jira-sim --check-shape ACTUAL.json FIXTURE.json [--at PATH] [--fields a,b]\n"
		"                [--nullable PATH]... [--optional PATH]...\n"
		"       jira-sim --self-test [--seed S]\n"
		"       jira-sim --json FILE PATH...\n");
}

static int parse_double(const char *s, double *outv)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || end == s || v < 0 || v > 1000)
		return -1;
	*outv = v;
	return 0;
}

static int parse_args(int argc, char **argv, bool *self_test)
{
	struct sim_opts *o = &SIM.o;
	o->seed = 42;
	o->issues = 200;
	o->users = 40;
	o->comments_avg = 3;
	o->worklogs_avg = 2;
	o->feed_lag_ms = 60000;
	o->caller_tz = "America/Los_Angeles";
	o->anchor_ms = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		long lv;
		int64_t i64;
#define NEEDV()                                                                      \
	do {                                                                         \
		if (!v) {                                                            \
			fprintf(stderr, "jira-sim: option '%s' needs a value\n", a); \
			return -1;                                                   \
		}                                                                    \
		i++;                                                                 \
	} while (0)
		if (strcmp(a, "--port") == 0) {
			NEEDV();
			if (parse_int_range(v, 1, 65535, &lv) < 0)
				goto bad;
			o->port = (int)lv;
		} else if (strcmp(a, "--seed") == 0) {
			NEEDV();
			if (parse_i64(v, &i64) < 0)
				goto bad;
			o->seed = (uint64_t)i64;
		} else if (strcmp(a, "--flavour") == 0 || strcmp(a, "--flavor") == 0) {
			NEEDV();
			if (strcmp(v, "cloud") == 0)
				o->dc = false;
			else if (strcmp(v, "dc") == 0 || strcmp(v, "datacenter") == 0)
				o->dc = true;
			else
				goto bad;
		} else if (strcmp(a, "--project") == 0) {
			NEEDV();
			bool ok = v[0] >= 'A' && v[0] <= 'Z' && strlen(v) < 20;
			for (const char *c = v; *c; c++)
				ok &= (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
				      *c == '_';
			if (!ok)
				goto bad;
			o->projects = xrealloc(o->projects,
					       (o->n_projects + 1) * sizeof(*o->projects));
			o->projects[o->n_projects++] = (char *)v;
		} else if (strcmp(a, "--issues") == 0) {
			NEEDV();
			if (parse_int_range(v, 0, 2000000, &o->issues) < 0)
				goto bad;
		} else if (strcmp(a, "--users") == 0) {
			NEEDV();
			if (parse_int_range(v, 1, 100000, &o->users) < 0)
				goto bad;
		} else if (strcmp(a, "--comments-avg") == 0) {
			NEEDV();
			if (parse_double(v, &o->comments_avg) < 0)
				goto bad;
		} else if (strcmp(a, "--worklogs-avg") == 0) {
			NEEDV();
			if (parse_double(v, &o->worklogs_avg) < 0)
				goto bad;
		} else if (strcmp(a, "--feed-lag-ms") == 0) {
			NEEDV();
			if (parse_int_range(v, 0, 86400000, &o->feed_lag_ms) < 0)
				goto bad;
		} else if (strcmp(a, "--email") == 0) {
			NEEDV();
			o->email = v;
		} else if (strcmp(a, "--api-token") == 0) {
			NEEDV();
			o->api_token = v;
		} else if (strcmp(a, "--pat") == 0) {
			NEEDV();
			o->pat = v;
		} else if (strcmp(a, "--caller-tz") == 0) {
			NEEDV();
			o->caller_tz = v;
		} else if (strcmp(a, "--anchor-ms") == 0) {
			NEEDV();
			if (parse_i64(v, &o->anchor_ms) < 0 || o->anchor_ms < 100000000000LL)
				goto bad;
		} else if (strcmp(a, "--verbose") == 0) {
			o->verbose = true;
		} else if (strcmp(a, "--self-test") == 0) {
			*self_test = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage();
			exit(0);
		} else {
			fprintf(stderr, "jira-sim: unknown option '%s'\n", a);
			return -1;
		}
		continue;
	bad:
		fprintf(stderr, "jira-sim: invalid value '%s' for option '%s'\n", v, a);
		return -1;
#undef NEEDV
	}
	if (sim_tz_offset(o->caller_tz, &o->caller_offset) < 0) {
		fprintf(stderr, "jira-sim: unknown time zone '%s'\n", o->caller_tz);
		return -1;
	}
	if ((o->email == NULL) != (o->api_token == NULL)) {
		fprintf(stderr, "jira-sim: --email and --api-token go together\n");
		return -1;
	}
	if (o->n_projects == 0) {
		static char demo[] = "DEMO";
		o->projects = xmalloc(sizeof(*o->projects));
		o->projects[o->n_projects++] = demo;
	}
	if (o->anchor_ms == 0) {
		/* Generated history ends an hour before today's UTC midnight: the same
		 * data all day for a given seed, and all of it older than the feed lag. */
		o->anchor_ms = now_ms() / 86400000LL * 86400000LL - 3600000LL;
	}
	if (!*self_test && o->port == 0) {
		fprintf(stderr, "jira-sim: --port is required\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--check-shape") == 0)
		return check_shape_main(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "--json") == 0)
		return json_get_main(argc, argv);
	bool self_test = false;
	if (parse_args(argc, argv, &self_test) < 0) {
		usage();
		return EXIT_USAGE;
	}
	pthread_rwlock_init(&SIM.lock, NULL);
	pthread_mutex_init(&SIM.meta_lock, NULL);
	int64_t t0 = mono_ms();
	sim_generate();
	int64_t gen_ms = mono_ms() - t0;
	if (self_test)
		return self_test_main();

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct sockaddr_in addr;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)SIM.o.port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
		(uint16_t)SIM.o.port, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR,
		(struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)300, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "jira-sim: cannot listen on '127.0.0.1:%d'\n", SIM.o.port);
		return EXIT_UNAVAILABLE;
	}
	fprintf(stderr,
		"jira-sim: listening on 127.0.0.1:%d flavour=%s projects=%zu issues=%zu comments=%zu "
		"worklogs=%zu sprints=%zu generated_in_ms=%" PRId64 "\n",
		SIM.o.port, SIM.o.dc ? "dc" : "cloud", SIM.n_projects, SIM.n_issues, SIM.n_comments,
		SIM.n_worklogs, SIM.n_sprints, gen_ms);
	int sig;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	return 0;
}
