/*
 * engine.c: the Redis side of the workflow engine. Producing (enqueue,
 * delayed enqueue, promotion), the Lua scripts that make every state change
 * of a task atomic, leases, observation (depth, live runs, dead letters) and
 * retry arithmetic. The consumer runtime (threads, reconnects, reclaiming,
 * graceful stop) is in worker.c and uses the helpers in engine_int.h.
 *
 * Key layout. Every key shares the prefix (default "{js}"); its hash tag puts
 * them all in one Redis Cluster slot, so each script may touch all of them.
 *
 *   {js}:tasks      STREAM, consumer group "workers"; one entry per task:
 *                   k=<kind> r=<run_id> s=<seq> a=<attempt> p=<payload>
 *
 *      enqueue ──XADD──▶ [ ready ] ──XREADGROUP──▶ [ pending ] ──ack──▶ (XACK+XDEL)
 *                            ▲                       │  │  │
 *                            │       idle>visibility │  │  └─retry──▶ {js}:delayed
 *                            │         XAUTOCLAIM ◀──┘  └─fail / poison──▶ {js}:dead
 *                            └────── promote (due) ◀──────────────── {js}:delayed
 *
 *   {js}:delayed    ZSET, score = due time in ms (Redis server clock),
 *                   member = "<run_id>\n<seq>\n<attempt>\n<kind>\n<payload>"
 *   {js}:dead       STREAM (capped near 100000): the task fields plus
 *                   c=<code> why=<reason> n=<deliveries> id=<original entry id>
 *   {js}:live       HASH run_id -> number of the run's tasks that are ready,
 *                   pending or delayed. +1 on enqueue, -1 on the final ack or
 *                   dead-letter, unchanged by retry and promotion; the field is
 *                   deleted at 0. Every -1 is guarded by XACK returning 1 (or
 *                   ZADD NX returning 0), so duplicate deliveries cannot make
 *                   it drift. run_id 0 is not tracked.
 *   {js}:lease:<n>  STRING owner, PX ttl: the scheduler leader lease
 *   {js}:lock:<n>   STRING owner, PX ttl: other mutual exclusion, same scripts
 *
 * Acknowledged entries are deleted, so XLEN counts exactly the ready and
 * pending tasks. If Redis loses its data, all of the above is gone at once:
 * the reconciler re-enqueues the runs PostgreSQL says are unfinished.
 */
#include "engine/engine_int.h"

#include <math.h>
#include <unistd.h>

/* ---- scripts -------------------------------------------------------------- */

#define LUA_NOW                          \
	"local t = redis.call('TIME')\n" \
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
#define LUA_UNLIVE                                                          \
	"local function unlive(k, run)\n"                                   \
	"  if run ~= '0' and redis.call('HINCRBY', k, run, -1) <= 0 then\n" \
	"    redis.call('HDEL', k, run)\n"                                  \
	"  end\n"                                                           \
	"end\n"

static const char *const script_src[N_SCRIPTS] = {
	/* KEYS tasks live; ARGV kind run seq attempt payload */
	[S_ENQUEUE] = "local id = redis.call('XADD', KEYS[1], '*', 'k', ARGV[1], 'r', ARGV[2],"
		      " 's', ARGV[3], 'a', ARGV[4], 'p', ARGV[5])\n"
		      "if ARGV[2] ~= '0' then redis.call('HINCRBY', KEYS[2], ARGV[2], 1) end\n"
		      "return id\n",

	/* KEYS delayed live; ARGV delay_ms member run */
	[S_DELAY] = LUA_NOW
	"local added = redis.call('ZADD', KEYS[1], 'NX', now + tonumber(ARGV[1]), ARGV[2])\n"
	"if added == 1 and ARGV[3] ~= '0' then redis.call('HINCRBY', KEYS[2], ARGV[3], 1) end\n"
	"return added\n",

	/* KEYS tasks live; ARGV group id run n_next, then n_next x (k r s a p) */
	[S_ACK] = LUA_UNLIVE
	"local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
	"redis.call('XDEL', KEYS[1], ARGV[2])\n"
	"if acked == 1 then\n"
	"  for i = 0, tonumber(ARGV[4]) - 1 do\n"
	"    local b = 5 + i * 5\n"
	"    redis.call('XADD', KEYS[1], '*', 'k', ARGV[b], 'r', ARGV[b + 1],"
	"               's', ARGV[b + 2], 'a', ARGV[b + 3], 'p', ARGV[b + 4])\n"
	"    if ARGV[b + 1] ~= '0' then redis.call('HINCRBY', KEYS[2], ARGV[b + 1], 1) end\n"
	"  end\n"
	"  unlive(KEYS[2], ARGV[3])\n"
	"end\n"
	"return acked\n",

	/* KEYS tasks delayed live; ARGV group id delay_ms member run */
	[S_RETRY] = LUA_NOW LUA_UNLIVE
	"local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
	"if acked == 1 then\n"
	"  redis.call('XDEL', KEYS[1], ARGV[2])\n"
	"  if redis.call('ZADD', KEYS[2], 'NX', now + tonumber(ARGV[3]), ARGV[4]) == 0 then\n"
	"    unlive(KEYS[3], ARGV[5])\n"
	"  end\n"
	"end\n"
	"return acked\n",

	/* KEYS tasks dead live; ARGV group id kind run seq attempt payload code why n */
	[S_DEAD] = LUA_UNLIVE
	"local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
	"if acked == 1 then\n"
	"  redis.call('XADD', KEYS[2], 'MAXLEN', '~', '100000', '*', 'k', ARGV[3],"
	"             'r', ARGV[4], 's', ARGV[5], 'a', ARGV[6], 'p', ARGV[7],"
	"             'c', ARGV[8], 'why', ARGV[9], 'n', ARGV[10], 'id', ARGV[2])\n"
	"  redis.call('XDEL', KEYS[1], ARGV[2])\n"
	"  unlive(KEYS[3], ARGV[4])\n"
	"end\n"
	"return acked\n",

	/* KEYS delayed tasks; ARGV limit */
	[S_PROMOTE] = LUA_NOW
	"local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))\n"
	"for _, m in ipairs(due) do\n"
	"  local p1 = string.find(m, '\\n', 1, true)\n"
	"  local p2 = p1 and string.find(m, '\\n', p1 + 1, true)\n"
	"  local p3 = p2 and string.find(m, '\\n', p2 + 1, true)\n"
	"  local p4 = p3 and string.find(m, '\\n', p3 + 1, true)\n"
	"  if p4 then\n"
	"    redis.call('XADD', KEYS[2], '*', 'k', string.sub(m, p3 + 1, p4 - 1),"
	"               'r', string.sub(m, 1, p1 - 1), 's', string.sub(m, p1 + 1, p2 - 1),"
	"               'a', string.sub(m, p2 + 1, p3 - 1), 'p', string.sub(m, p4 + 1))\n"
	"  end\n"
	"  redis.call('ZREM', KEYS[1], m)\n"
	"end\n"
	"return #due\n",

	/* KEYS tasks; ARGV group consumer id */
	[S_HEARTBEAT] = "local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)\n"
			"if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end\n"
			"redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')\n"
			"return 1\n",

	/* KEYS tasks; ARGV group id kind run seq attempt payload */
	[S_REQUEUE] = "local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
		      "if acked == 1 then\n"
		      "  redis.call('XADD', KEYS[1], '*', 'k', ARGV[3], 'r', ARGV[4], 's', ARGV[5],"
		      "             'a', ARGV[6], 'p', ARGV[7])\n"
		      "  redis.call('XDEL', KEYS[1], ARGV[2])\n"
		      "end\n"
		      "return acked\n",

	/* KEYS lease; ARGV owner ttl_ms */
	[S_RENEW] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
		    "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
		    "  return 1\n"
		    "end\n"
		    "return 0\n",

	/* KEYS lease; ARGV owner */
	[S_RELEASE] =
		"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
		"return 0\n",

	/* KEYS tasks live; ARGV group consumer fetch n, then n x (id run) */
	[S_ACK_FETCH] = LUA_UNLIVE
	"local n = tonumber(ARGV[4])\n"
	"local ids = {}\n"
	"for i = 0, n - 1 do\n"
	"  local id, run = ARGV[5 + 2 * i], ARGV[6 + 2 * i]\n"
	"  if redis.call('XACK', KEYS[1], ARGV[1], id) == 1 then unlive(KEYS[2], run) end\n"
	"  ids[#ids + 1] = id\n"
	"end\n"
	"if n > 0 then redis.call('XDEL', KEYS[1], unpack(ids)) end\n"
	"if tonumber(ARGV[3]) > 0 then\n"
	"  return redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3],"
	" 'STREAMS', KEYS[1], '>')\n"
	"end\n"
	"return false\n",

	/* KEYS tasks live; ARGV group id run n_next, n_next x (k r s a p), consumer */
	[S_ACK_CHAIN] = LUA_UNLIVE
	"local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
	"redis.call('XDEL', KEYS[1], ARGV[2])\n"
	"local n = tonumber(ARGV[4])\n"
	"local got = false\n"
	"if acked == 1 then\n"
	"  for i = 0, n - 1 do\n"
	"    local b = 5 + i * 5\n"
	"    redis.call('XADD', KEYS[1], '*', 'k', ARGV[b], 'r', ARGV[b + 1],"
	"               's', ARGV[b + 2], 'a', ARGV[b + 3], 'p', ARGV[b + 4])\n"
	"    if ARGV[b + 1] ~= '0' then redis.call('HINCRBY', KEYS[2], ARGV[b + 1], 1) end\n"
	"  end\n"
	"  unlive(KEYS[2], ARGV[3])\n"
	"  got = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[5 + n * 5], 'COUNT', 1,"
	" 'STREAMS', KEYS[1], '>')\n"
	"end\n"
	"return {acked, got}\n",

	/* KEYS tasks; ARGV group idle_ms: forget consumers long gone with nothing pending */
	[S_REAP] = "local n = 0\n"
		   "for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do\n"
		   "  local f = {}\n"
		   "  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end\n"
		   "  if f['pending'] == 0 and f['idle'] > tonumber(ARGV[2]) then\n"
		   "    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])\n"
		   "    n = n + 1\n"
		   "  end\n"
		   "end\n"
		   "return n\n",
};

/* ---- engine ---------------------------------------------------------------- */

struct engine *engine_new(const struct engine_options *o, char *err, size_t errlen)
{
	if (!o || !o->redis_url || !o->redis_url[0]) {
		snprintf(err, errlen, "engine: missing redis url");
		return NULL;
	}
	const char *prefix = o->prefix ? o->prefix : "{js}";
	if (!prefix[0] || strlen(prefix) > 100) {
		snprintf(err, errlen, "engine: invalid key prefix '%s'", prefix);
		return NULL;
	}
	struct engine *e = xcalloc(1, sizeof *e);
	e->redis_url = xstrdup(o->redis_url);
	e->prefix = xstrdup(prefix);
	e->group = xstrdup(o->group && o->group[0] ? o->group : "workers");
	e->visibility_ms = o->visibility_ms > 0 ? o->visibility_ms : 30000;
	e->max_deliveries = o->max_deliveries > 0 ? o->max_deliveries : 5;
	e->poison_code = xstrdup(o->poison_code ? o->poison_code : "INTERNAL");
	e->block_ms = o->block_ms > 0 ? o->block_ms
				      : (e->visibility_ms / 2 < 1000 ? e->visibility_ms / 2 : 1000);
	if (e->block_ms < 1)
		e->block_ms = 1;
	e->promote_interval_ms = o->promote_interval_ms > 0 ? o->promote_interval_ms : 500;
	e->command_timeout_ms = o->command_timeout_ms > 0 ? o->command_timeout_ms : 5000;
	engine_key(e, "tasks", e->k_tasks, sizeof e->k_tasks);
	engine_key(e, "delayed", e->k_delayed, sizeof e->k_delayed);
	engine_key(e, "dead", e->k_dead, sizeof e->k_dead);
	engine_key(e, "live", e->k_live, sizeof e->k_live);
	atomic_init(&e->next_promote_ms, 0);
	atomic_init(&e->next_reap_ms, 0);
	return e;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	free(e->redis_url);
	free(e->prefix);
	free(e->group);
	free(e->poison_code);
	free(e->kinds);
	free(e);
}

int engine_register(struct engine *e, const struct engine_kind *k)
{
	if (!k || !k->kind || !k->kind[0] || !k->handle || strlen(k->kind) > ENGINE_KIND_MAX ||
	    strchr(k->kind, '\n') || engine_find_kind(e, k->kind))
		return ENGINE_EINVAL;
	e->kinds = xrealloc(e->kinds, (e->n_kinds + 1) * sizeof *e->kinds);
	e->kinds[e->n_kinds++] = k;
	return 0;
}

void engine_on_failed(struct engine *e, engine_failed_fn fn, void *user)
{
	e->failed_fn = fn;
	e->failed_user = user;
}

const struct engine_kind *engine_find_kind(const struct engine *e, const char *kind)
{
	for (size_t i = 0; i < e->n_kinds; i++)
		if (strcmp(e->kinds[i]->kind, kind) == 0)
			return e->kinds[i];
	return NULL;
}

const char *engine_key(const struct engine *e, const char *suffix, char *out, size_t n)
{
	snprintf(out, n, "%s:%s", e->prefix, suffix);
	return out;
}

const char *engine_fail_reason_name(enum engine_fail_reason r)
{
	switch (r) {
	case ENGINE_FAILED:
		return "failed";
	case ENGINE_NOT_RETRYABLE:
		return "not_retryable";
	case ENGINE_EXHAUSTED:
		return "exhausted";
	case ENGINE_POISON:
		return "poison";
	case ENGINE_UNKNOWN_KIND:
		return "unknown_kind";
	}
	return "unknown";
}

/* ---- connections ----------------------------------------------------------- */

static void set_err(struct engine_conn *c, const char *what, const redisReply *r)
{
	if (r && r->type == REDIS_REPLY_ERROR)
		snprintf(c->err, sizeof c->err, "redis %s: %.*s", what, (int)r->len, r->str);
	else if (c->rc && c->rc->err)
		snprintf(c->err, sizeof c->err, "redis %s: %s", what, c->rc->errstr);
	else
		snprintf(c->err, sizeof c->err, "redis %s: unexpected reply", what);
}

/* Classify a reply: 0 ok, ENGINE_EIO when the connection broke (r is NULL),
 * ENGINE_EREPLY for an error reply. */
static int reply_rc(struct engine_conn *c, const char *what, const redisReply *r)
{
	if (!r) {
		set_err(c, what, NULL);
		return ENGINE_EIO;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		set_err(c, what, r);
		return ENGINE_EREPLY;
	}
	return 0;
}

bool engine_conn_broken(const struct engine_conn *c)
{
	return !c->rc || c->rc->err != 0;
}

const char *engine_conn_error(const struct engine_conn *c)
{
	return c ? c->err : "";
}

static int load_scripts(struct engine_conn *c)
{
	for (int i = 0; i < N_SCRIPTS; i++)
		redisAppendCommand(c->rc, "SCRIPT LOAD %s", script_src[i]);
	int rc = 0;
	for (int i = 0; i < N_SCRIPTS; i++) {
		redisReply *r = NULL;
		if (redisGetReply(c->rc, (void **)&r) != REDIS_OK)
			r = NULL;
		int x = reply_rc(c, "script load", r);
		if (x == 0 && (r->type != REDIS_REPLY_STRING || r->len != 40)) {
			set_err(c, "script load", NULL);
			x = ENGINE_EREPLY;
		}
		if (x == 0)
			memcpy(c->sha[i], r->str, 41);
		else if (rc == 0)
			rc = x;
		freeReplyObject(r);
		if (x == ENGINE_EIO)
			return rc;
	}
	return rc;
}

int engine_ensure_group(struct engine_conn *c)
{
	const char *argv[] = {"XGROUP", "CREATE", c->e->k_tasks, c->e->group, "0", "MKSTREAM"};
	redisReply *r = redisCommandArgv(c->rc, 6, argv, NULL);
	int rc = reply_rc(c, "xgroup create", r);
	if (rc == ENGINE_EREPLY && strncmp(r->str, "BUSYGROUP", 9) == 0)
		rc = 0;
	freeReplyObject(r);
	return rc;
}

struct engine_conn *engine_connect_timeout(struct engine *e, int64_t timeout_ms, char *err,
					   size_t errlen)
{
	redisContext *rc = redis_connect_url(e->redis_url, (int)timeout_ms, err, errlen);
	if (!rc)
		return NULL;
	struct engine_conn *c = xcalloc(1, sizeof *c);
	c->e = e;
	c->rc = rc;
	if (load_scripts(c) != 0 || engine_ensure_group(c) != 0) {
		snprintf(err, errlen, "%s", c->err);
		engine_conn_free(c);
		return NULL;
	}
	return c;
}

struct engine_conn *engine_connect(struct engine *e, char *err, size_t errlen)
{
	return engine_connect_timeout(e, e->command_timeout_ms, err, errlen);
}

void engine_conn_free(struct engine_conn *c)
{
	if (!c)
		return;
	if (c->rc)
		redisFree(c->rc);
	free(c);
}

/*
 * EVALSHA script s with n strings (keys first, then arguments). Reloads the
 * scripts once on NOSCRIPT (a restarted server or SCRIPT FLUSH). The caller
 * frees the reply; *rc gets reply_rc().
 */
redisReply *engine_script(struct engine_conn *c, int s, int nkeys, int n, const char **argv,
			  const size_t *lens, int *rc)
{
	const char *av[192];
	size_t al[192];
	char nk[8];
	redisReply *r = NULL;

	if (n + 3 > (int)JS_ARRAY_LEN(av)) {
		snprintf(c->err, sizeof c->err, "engine: too many script arguments");
		*rc = ENGINE_EINVAL;
		return NULL;
	}
	snprintf(nk, sizeof nk, "%d", nkeys);
	for (int attempt = 0; attempt < 2; attempt++) {
		av[0] = "EVALSHA";
		al[0] = 7;
		av[1] = c->sha[s];
		al[1] = 40;
		av[2] = nk;
		al[2] = strlen(nk);
		for (int i = 0; i < n; i++) {
			av[3 + i] = argv[i];
			al[3 + i] = lens ? lens[i] : strlen(argv[i]);
		}
		r = redisCommandArgv(c->rc, n + 3, av, al);
		*rc = reply_rc(c, "script", r);
		if (*rc == ENGINE_EREPLY && attempt == 0 && strncmp(r->str, "NOSCRIPT", 8) == 0) {
			freeReplyObject(r);
			r = NULL;
			int lrc = load_scripts(c);
			if (lrc != 0) {
				*rc = lrc;
				return NULL;
			}
			continue;
		}
		break;
	}
	if (*rc == ENGINE_EIO) {
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* An integer reply of a script, or an error code. */
static int script_int(struct engine_conn *c, int s, int nkeys, int n, const char **argv,
		      const size_t *lens, long long *out)
{
	int rc;
	redisReply *r = engine_script(c, s, nkeys, n, argv, lens, &rc);
	if (rc == 0 && r->type != REDIS_REPLY_INTEGER) {
		set_err(c, "script", NULL);
		rc = ENGINE_EREPLY;
	}
	if (rc == 0 && out)
		*out = r->integer;
	freeReplyObject(r);
	return rc;
}

/* ---- task fields ----------------------------------------------------------- */

static int check_task(struct engine_conn *c, const struct engine_task *t)
{
	if (!t->kind || !t->kind[0] || strlen(t->kind) > ENGINE_KIND_MAX || strchr(t->kind, '\n') ||
	    t->run_id < 0 || t->seq < 0 || t->attempt < 0 || (t->payload_len && !t->payload) ||
	    t->payload_len > ENGINE_PAYLOAD_MAX) {
		snprintf(c->err, sizeof c->err, "engine: invalid task (kind '%.64s')",
			 t->kind ? t->kind : "");
		return ENGINE_EINVAL;
	}
	return 0;
}

void engine_task_fields(const struct engine_task *t, struct engine_fields *f)
{
	fmt_i64(f->run, t->run_id);
	snprintf(f->seq, sizeof f->seq, "%d", t->seq);
	snprintf(f->attempt, sizeof f->attempt, "%d", t->attempt > 0 ? t->attempt : 1);
	f->payload = t->payload ? t->payload : "";
}

void engine_delay_member(const struct engine_task *t, struct buf *m)
{
	struct engine_fields f;
	engine_task_fields(t, &f);
	buf_reset(m);
	if (buf_printf(m, "%s\n%s\n%s\n%s\n", f.run, f.seq, f.attempt, t->kind) != 0 ||
	    buf_append(m, f.payload, t->payload_len) != 0)
		abort(); /* bounded by check_task: cannot exceed the buffer maximum */
}

/* Fill t from a stream entry [id, [field, value, ...]]; strings point into r. */
int engine_parse_entry(const redisReply *r, struct engine_task *t)
{
	memset(t, 0, sizeof *t);
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= ENGINE_ID_MAX)
		return -1;
	memcpy(t->id, r->element[0]->str, r->element[0]->len + 1);
	const redisReply *f = r->element[1];
	if (f->type != REDIS_REPLY_ARRAY || f->elements % 2)
		return -1;
	const char *run = NULL, *seq = NULL, *att = NULL;
	for (size_t i = 0; i + 1 < f->elements; i += 2) {
		const redisReply *k = f->element[i], *v = f->element[i + 1];
		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || k->len != 1)
			continue;
		switch (k->str[0]) {
		case 'k':
			t->kind = v->str;
			break;
		case 'r':
			run = v->str;
			break;
		case 's':
			seq = v->str;
			break;
		case 'a':
			att = v->str;
			break;
		case 'p':
			t->payload = v->str;
			t->payload_len = v->len;
			break;
		default:
			break;
		}
	}
	long n;
	if (!t->kind || !run || parse_i64(run, &t->run_id) != 0)
		return -1;
	if (!seq || parse_int_range(seq, 0, INT32_MAX, &n) != 0)
		return -1;
	t->seq = (int)n;
	if (!att || parse_int_range(att, 1, INT32_MAX, &n) != 0)
		return -1;
	t->attempt = (int)n;
	if (!t->payload)
		t->payload = "";
	return 0;
}

/* ---- producing ------------------------------------------------------------- */

static void enqueue_argv(struct engine *e, const struct engine_task *t, struct engine_fields *f,
			 const char *argv[7], size_t lens[7])
{
	engine_task_fields(t, f);
	argv[0] = e->k_tasks;
	argv[1] = e->k_live;
	argv[2] = t->kind;
	argv[3] = f->run;
	argv[4] = f->seq;
	argv[5] = f->attempt;
	argv[6] = f->payload;
	for (int i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	lens[6] = t->payload_len;
}

int engine_enqueue(struct engine_conn *c, const struct engine_task *t, char id_out[ENGINE_ID_MAX])
{
	int rc = check_task(c, t);
	if (rc)
		return rc;
	struct engine_fields f;
	const char *argv[7];
	size_t lens[7];
	enqueue_argv(c->e, t, &f, argv, lens);
	redisReply *r = engine_script(c, S_ENQUEUE, 2, 7, argv, lens, &rc);
	if (rc == 0 && (r->type != REDIS_REPLY_STRING || r->len >= ENGINE_ID_MAX)) {
		set_err(c, "enqueue", NULL);
		rc = ENGINE_EREPLY;
	}
	if (rc == 0 && id_out)
		memcpy(id_out, r->str, r->len + 1);
	freeReplyObject(r);
	return rc;
}

int engine_enqueue_many(struct engine_conn *c, const struct engine_task *t, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n; i++)
		if ((rc = check_task(c, &t[i])) != 0)
			return rc;
	/* Pipeline; tasks refused with NOSCRIPT are sent again one by one. */
	bool *again = xcalloc(n ? n : 1, sizeof *again);
	char nk[] = "2";
	for (size_t i = 0; i < n; i++) {
		struct engine_fields f;
		const char *a[7], *av[10];
		size_t l[7], al[10];
		enqueue_argv(c->e, &t[i], &f, a, l);
		av[0] = "EVALSHA", al[0] = 7;
		av[1] = c->sha[S_ENQUEUE], al[1] = 40;
		av[2] = nk, al[2] = 1;
		for (int j = 0; j < 7; j++)
			av[3 + j] = a[j], al[3 + j] = l[j];
		redisAppendCommandArgv(c->rc, 10, av, al);
	}
	for (size_t i = 0; i < n; i++) {
		redisReply *r = NULL;
		if (redisGetReply(c->rc, (void **)&r) != REDIS_OK)
			r = NULL;
		int x = reply_rc(c, "enqueue", r);
		if (x == ENGINE_EREPLY && strncmp(r->str, "NOSCRIPT", 8) == 0) {
			again[i] = true;
			x = 0;
		}
		freeReplyObject(r);
		if (x == ENGINE_EIO) {
			rc = x;
			goto out;
		}
		if (x && !rc)
			rc = x;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		if (again[i])
			rc = engine_enqueue(c, &t[i], NULL);
out:
	free(again);
	return rc;
}

int engine_enqueue_delayed(struct engine_conn *c, const struct engine_task *t, int64_t delay_ms)
{
	int rc = check_task(c, t);
	if (rc)
		return rc;
	struct buf m;
	buf_init(&m, ENGINE_PAYLOAD_MAX + 256);
	engine_delay_member(t, &m);
	char d[24], run[24];
	fmt_i64(d, delay_ms > 0 ? delay_ms : 0);
	fmt_i64(run, t->run_id);
	const char *argv[] = {c->e->k_delayed, c->e->k_live, d, m.data, run};
	size_t lens[] = {strlen(argv[0]), strlen(argv[1]), strlen(d), m.len, strlen(run)};
	rc = script_int(c, S_DELAY, 2, 5, argv, lens, NULL);
	buf_release(&m);
	return rc;
}

int engine_promote_due(struct engine_conn *c, int max, int *moved)
{
	char lim[16];
	snprintf(lim, sizeof lim, "%d", max > 0 ? max : 100);
	const char *argv[] = {c->e->k_delayed, c->e->k_tasks, lim};
	long long n = 0;
	int rc = script_int(c, S_PROMOTE, 2, 3, argv, NULL, &n);
	if (rc == 0 && moved)
		*moved = (int)n;
	return rc;
}

/* ---- observing ------------------------------------------------------------- */

int engine_queue_depth(struct engine_conn *c, struct engine_depth *out)
{
	struct engine *e = c->e;
	const char *a1[] = {"XLEN", e->k_tasks};
	const char *a2[] = {"XPENDING", e->k_tasks, e->group};
	const char *a3[] = {"ZCARD", e->k_delayed};
	const char *a4[] = {"XLEN", e->k_dead};
	redisAppendCommandArgv(c->rc, 2, a1, NULL);
	redisAppendCommandArgv(c->rc, 3, a2, NULL);
	redisAppendCommandArgv(c->rc, 2, a3, NULL);
	redisAppendCommandArgv(c->rc, 2, a4, NULL);
	int64_t v[4] = {0, 0, 0, 0};
	int rc = 0;
	for (int i = 0; i < 4; i++) {
		redisReply *r = NULL;
		if (redisGetReply(c->rc, (void **)&r) != REDIS_OK)
			r = NULL;
		int x = reply_rc(c, "queue depth", r);
		if (x == 0 && r->type == REDIS_REPLY_INTEGER)
			v[i] = r->integer;
		else if (x == 0 && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
			 r->element[0]->type == REDIS_REPLY_INTEGER)
			v[i] = r->element[0]->integer; /* XPENDING summary: count first */
		else if (x == ENGINE_EREPLY && strncmp(r->str, "NOGROUP", 7) == 0)
			x = 0; /* no group yet: nothing pending */
		freeReplyObject(r);
		if (x == ENGINE_EIO)
			return x;
		if (x && !rc)
			rc = x;
	}
	if (rc == 0) {
		out->pending = v[1];
		out->ready = v[0] > v[1] ? v[0] - v[1] : 0;
		out->delayed = v[2];
		out->dead = v[3];
	}
	return rc;
}

int engine_run_live(struct engine_conn *c, int64_t run_id, int64_t *n_live)
{
	char run[24];
	fmt_i64(run, run_id);
	const char *argv[] = {"HGET", c->e->k_live, run};
	redisReply *r = redisCommandArgv(c->rc, 3, argv, NULL);
	int rc = reply_rc(c, "hget live", r);
	if (rc == 0) {
		int64_t n = 0;
		if (r->type == REDIS_REPLY_STRING && parse_i64(r->str, &n) != 0) {
			set_err(c, "hget live", NULL);
			rc = ENGINE_EREPLY;
		} else {
			*n_live = n;
		}
	}
	freeReplyObject(r);
	return rc;
}

int engine_dead_list(struct engine_conn *c, int max_n, engine_dead_fn fn, void *user)
{
	char cnt[16];
	snprintf(cnt, sizeof cnt, "%d", max_n > 0 ? max_n : 100);
	const char *argv[] = {"XRANGE", c->e->k_dead, "-", "+", "COUNT", cnt};
	redisReply *r = redisCommandArgv(c->rc, 6, argv, NULL);
	int rc = reply_rc(c, "xrange dead", r);
	for (size_t i = 0; rc == 0 && i < r->elements; i++) {
		struct engine_task t;
		const char *code = "", *why = "";
		if (engine_parse_entry(r->element[i], &t) != 0)
			continue;
		const redisReply *f = r->element[i]->element[1];
		for (size_t j = 0; j + 1 < f->elements; j += 2) {
			if (strcmp(f->element[j]->str, "c") == 0)
				code = f->element[j + 1]->str;
			else if (strcmp(f->element[j]->str, "why") == 0)
				why = f->element[j + 1]->str;
			else if (strcmp(f->element[j]->str, "n") == 0)
				t.deliveries = strtol(f->element[j + 1]->str, NULL, 10);
		}
		fn(&t, code, why, user);
	}
	freeReplyObject(r);
	return rc;
}

/* ---- leases ---------------------------------------------------------------- */

int engine_lease_renew(struct engine_conn *c, const char *name, const char *owner, int64_t ttl_ms,
		       bool *held)
{
	char key[256], ttl[24];
	engine_key(c->e, name, key, sizeof key);
	fmt_i64(ttl, ttl_ms);
	const char *argv[] = {key, owner, ttl};
	long long n = 0;
	int rc = script_int(c, S_RENEW, 1, 3, argv, NULL, &n);
	if (rc == 0)
		*held = n == 1;
	return rc;
}

int engine_lease_acquire(struct engine_conn *c, const char *name, const char *owner, int64_t ttl_ms,
			 bool *held)
{
	char key[256], ttl[24];
	if (ttl_ms <= 0 || !owner || !owner[0])
		return ENGINE_EINVAL;
	engine_key(c->e, name, key, sizeof key);
	fmt_i64(ttl, ttl_ms);
	const char *argv[] = {"SET", key, owner, "NX", "PX", ttl};
	redisReply *r = redisCommandArgv(c->rc, 6, argv, NULL);
	int rc = reply_rc(c, "set lease", r);
	bool ok = rc == 0 && r->type == REDIS_REPLY_STATUS;
	freeReplyObject(r);
	if (rc)
		return rc;
	if (ok) {
		*held = true;
		return 0;
	}
	return engine_lease_renew(c, name, owner, ttl_ms, held); /* already ours? */
}

int engine_lease_release(struct engine_conn *c, const char *name, const char *owner)
{
	char key[256];
	engine_key(c->e, name, key, sizeof key);
	const char *argv[] = {key, owner};
	return script_int(c, S_RELEASE, 1, 2, argv, NULL, NULL);
}

/* ---- task state changes used by the consumer runtime --------------------------- */

/* The arguments of S_ACK and S_ACK_CHAIN: keys, the task, its successors,
 * then consumer when given. Returns the count; the buffers are the caller's. */
struct ack_args {
	const char *argv[7 + 5 * ENGINE_NEXT_MAX];
	size_t lens[7 + 5 * ENGINE_NEXT_MAX];
	char run[24], n[8];
	struct engine_fields f[ENGINE_NEXT_MAX];
};

static int ack_args(struct engine_conn *c, struct ack_args *a, const struct engine_task *t,
		    const struct engine_next *next, int n_next, const char *consumer)
{
	struct engine *e = c->e;
	int k = 0;

	fmt_i64(a->run, t->run_id);
	snprintf(a->n, sizeof a->n, "%d", n_next);
	a->argv[k++] = e->k_tasks;
	a->argv[k++] = e->k_live;
	a->argv[k++] = e->group;
	a->argv[k++] = t->id;
	a->argv[k++] = a->run;
	a->argv[k++] = a->n;
	for (int i = 0; i < k; i++)
		a->lens[i] = strlen(a->argv[i]);
	for (int i = 0; i < n_next; i++) {
		struct engine_fields *f = &a->f[i];
		engine_task_fields(&next[i].t, f);
		a->argv[k] = next[i].t.kind, a->lens[k] = strlen(next[i].t.kind), k++;
		a->argv[k] = f->run, a->lens[k] = strlen(f->run), k++;
		a->argv[k] = f->seq, a->lens[k] = strlen(f->seq), k++;
		a->argv[k] = f->attempt, a->lens[k] = strlen(f->attempt), k++;
		a->argv[k] = f->payload, a->lens[k] = next[i].t.payload_len, k++;
	}
	if (consumer)
		a->argv[k] = consumer, a->lens[k] = strlen(consumer), k++;
	return k;
}

int engine_ack(struct engine_conn *c, const struct engine_task *t, const struct engine_next *next,
	       int n_next, long long *acked)
{
	struct ack_args a;
	if (n_next < 0 || n_next > ENGINE_NEXT_MAX)
		return ENGINE_EINVAL;
	int k = ack_args(c, &a, t, next, n_next, NULL);
	return script_int(c, S_ACK, 2, k, a.argv, a.lens, acked);
}

int engine_retry_later(struct engine_conn *c, const struct engine_task *t, int64_t delay_ms,
		       long long *acked)
{
	struct engine_task nt = *t;
	nt.attempt = t->attempt + 1;
	struct buf m;
	buf_init(&m, ENGINE_PAYLOAD_MAX + 256);
	engine_delay_member(&nt, &m);
	char d[24], run[24];
	fmt_i64(d, delay_ms);
	fmt_i64(run, t->run_id);
	const char *argv[] = {
		c->e->k_tasks, c->e->k_delayed, c->e->k_live, c->e->group, t->id, d, m.data, run};
	size_t lens[8];
	for (int i = 0; i < 8; i++)
		lens[i] = strlen(argv[i]);
	lens[6] = m.len;
	int rc = script_int(c, S_RETRY, 3, 8, argv, lens, acked);
	buf_release(&m);
	return rc;
}

int engine_dead_letter(struct engine_conn *c, const struct engine_task *t, const char *code,
		       enum engine_fail_reason why, long long *acked)
{
	struct engine_fields f;
	char n[24];
	engine_task_fields(t, &f);
	snprintf(n, sizeof n, "%ld", t->deliveries);
	const char *argv[] = {c->e->k_tasks,
			      c->e->k_dead,
			      c->e->k_live,
			      c->e->group,
			      t->id,
			      t->kind,
			      f.run,
			      f.seq,
			      f.attempt,
			      f.payload,
			      code,
			      engine_fail_reason_name(why),
			      n};
	size_t lens[13];
	for (int i = 0; i < 13; i++)
		lens[i] = strlen(argv[i]);
	lens[9] = t->payload_len;
	return script_int(c, S_DEAD, 3, 13, argv, lens, acked);
}

int engine_ack_chain(struct engine_conn *c, const char *consumer, const struct engine_task *t,
		     const struct engine_next *next, int n_next, long long *acked,
		     redisReply **entries)
{
	struct ack_args a;
	int rc;

	*entries = NULL;
	if (n_next < 0 || n_next > ENGINE_NEXT_MAX)
		return ENGINE_EINVAL;
	int k = ack_args(c, &a, t, next, n_next, consumer);
	redisReply *r = engine_script(c, S_ACK_CHAIN, 2, k, a.argv, a.lens, &rc);
	if (rc == 0 && (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
			r->element[0]->type != REDIS_REPLY_INTEGER)) {
		set_err(c, "script", NULL);
		rc = ENGINE_EREPLY;
	}
	if (rc != 0) {
		freeReplyObject(r);
		return rc;
	}
	*acked = r->element[0]->integer;
	const redisReply *got = r->element[1];
	if (got->type == REDIS_REPLY_ARRAY && got->elements == 1 &&
	    got->element[0]->type == REDIS_REPLY_ARRAY && got->element[0]->elements == 2 &&
	    got->element[0]->element[1]->type == REDIS_REPLY_ARRAY &&
	    got->element[0]->element[1]->elements > 0)
		*entries = r;
	else
		freeReplyObject(r);
	return 0;
}

int engine_ack_fetch(struct engine_conn *c, const char *consumer, int fetch,
		     char ids[][ENGINE_ID_MAX], char runs[][24], int n, redisReply **entries)
{
	const char *argv[6 + 2 * ENGINE_ACK_MAX];
	char f[16], nn[16];
	int k = 0, rc;

	if (n > ENGINE_ACK_MAX)
		return ENGINE_EINVAL;
	snprintf(f, sizeof f, "%d", fetch);
	snprintf(nn, sizeof nn, "%d", n);
	argv[k++] = c->e->k_tasks;
	argv[k++] = c->e->k_live;
	argv[k++] = c->e->group;
	argv[k++] = consumer;
	argv[k++] = f;
	argv[k++] = nn;
	for (int i = 0; i < n; i++) {
		argv[k++] = ids[i];
		argv[k++] = runs[i];
	}
	redisReply *r = engine_script(c, S_ACK_FETCH, 2, k, argv, NULL, &rc);
	*entries = NULL;
	if (rc == 0 && r->type == REDIS_REPLY_ARRAY)
		*entries = r;
	else
		freeReplyObject(r);
	return rc;
}

int engine_requeue(struct engine_conn *c, const struct engine_task *t)
{
	struct engine_fields f;
	engine_task_fields(t, &f);
	const char *argv[] = {c->e->k_tasks, c->e->group, t->id,     t->kind,
			      f.run,         f.seq,       f.attempt, f.payload};
	size_t lens[8];
	for (int i = 0; i < 8; i++)
		lens[i] = strlen(argv[i]);
	lens[7] = t->payload_len;
	return script_int(c, S_REQUEUE, 1, 8, argv, lens, NULL);
}

int engine_claim_keep(struct engine_conn *c, const char *consumer, const char *id, bool *kept)
{
	const char *argv[] = {c->e->k_tasks, c->e->group, consumer, id};
	long long n = 0;
	int rc = script_int(c, S_HEARTBEAT, 1, 4, argv, NULL, &n);
	if (rc == 0)
		*kept = n == 1;
	return rc;
}

int engine_reap_consumers(struct engine_conn *c, int64_t idle_ms)
{
	char idle[24];
	fmt_i64(idle, idle_ms);
	const char *argv[] = {c->e->k_tasks, c->e->group, idle};
	return script_int(c, S_REAP, 1, 3, argv, NULL, NULL);
}

/* ---- policy arithmetic ------------------------------------------------------ */

bool engine_retry_decide(const struct engine_retry_policy *p, int attempt, const char *code,
			 int64_t min_delay_ms, int64_t *delay_ms, enum engine_fail_reason *why)
{
	int64_t initial = p->initial_ms > 0 ? p->initial_ms : 1000;
	double coef = p->coefficient >= 1.0 ? p->coefficient : 2.0;
	int64_t max = p->max_ms > 0 ? p->max_ms : 300000;
	int max_attempts = p->max_attempts > 0 ? p->max_attempts : 5;

	for (size_t i = 0; code && i < p->n_non_retryable; i++) {
		if (p->non_retryable[i] && strcmp(p->non_retryable[i], code) == 0) {
			*why = ENGINE_NOT_RETRYABLE;
			return false;
		}
	}
	if (attempt < 1)
		attempt = 1;
	if (attempt >= max_attempts) {
		*why = ENGINE_EXHAUSTED;
		return false;
	}
	/* Computed in floating point and clamped, so large attempts cannot overflow. */
	double d = (double)initial * pow(coef, (double)(attempt - 1));
	int64_t delay = d >= (double)max ? max : (int64_t)d;
	if (min_delay_ms > delay)
		delay = min_delay_ms; /* the server's Retry-After wins over the cap */
	*delay_ms = delay;
	return true;
}
