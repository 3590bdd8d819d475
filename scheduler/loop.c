/*
 * The schedule loop of `jirasync scheduler` (and `jirasync run`). Every
 * process competes for one Redis lease; only its holder fires. Each tick of
 * the leader:
 *
 *   promote due delayed tasks ─▶ fire due schedules ─▶ start buffered
 *   triggers whose blocking run ended ─▶ (every reconcile interval) re-enqueue
 *   RUNNING runs that have no live task in Redis
 *
 * then sleeps until the earliest next_run_at, the lease renewal or the tick,
 * whichever comes first, so an idle scheduler costs a few queries a second.
 *
 * Firing is idempotent: the run is created under the database's unique
 * (project, slot) index, so a second leader (split brain, or a crash between
 * creating the run and moving next_run_at) cannot start a slot twice, and the
 * job row moves on with a compare-and-set on its old next_run_at. Missed
 * slots (downtime) collapse into one run: the newest slot due.
 */
#include "scheduler/sched_int.h"

#include <signal.h>
#include <unistd.h>

#define DUE_BATCH 500
#define CATCHUP_MAX_STEPS 100000
#define RECONCILE_BATCH 500
#define JS_STR_(x) #x
#define JS_STR(x) JS_STR_(x)

struct loop {
	const struct config *cfg;
	struct sched_loop_opts o;
	atomic_int *stop;
	struct engine *eng;
	struct engine_conn *ec;
	PGconn *db;
	char owner[160];
	bool leader;
	int64_t lease_due;       /* mono ms of the next acquire/renew */
	int64_t reconcile_due;   /* mono ms of the next reconciler pass */
	int64_t reconcile_after; /* the last run id the reconciler looked at */
	int64_t backoff_ms;
	int64_t n_fired, n_skipped;
};

static atomic_int *signal_stop;

static void on_signal(int sig)
{
	(void)sig;
	if (signal_stop)
		atomic_store(signal_stop, 1);
}

void sched_install_signals(atomic_int *stop)
{
	signal_stop = stop;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void sched_engine_options(const struct config *cfg, struct engine_options *o)
{
	memset(o, 0, sizeof *o);
	o->redis_url = cfg->redis_url;
	o->visibility_ms = cfg->engine_visibility_ms;
	o->max_deliveries = (int)cfg->engine_max_deliveries;
}

/* Sleep up to ms, waking early when asked to stop. */
static void nap(const struct loop *l, int64_t ms)
{
	int64_t end = mono_ms() + ms;
	while (!atomic_load(l->stop)) {
		int64_t left = end - mono_ms();
		if (left <= 0)
			break;
		sleep_ms(left < 200 ? left : 200);
	}
}

static void drop_engine(struct loop *l)
{
	engine_conn_free(l->ec);
	l->ec = NULL;
	if (l->leader)
		log_warn("scheduler lost leadership: redis unavailable");
	l->leader = false;
}

/* Make sure both connections are up; false (after logging) when not. */
static bool connect_all(struct loop *l)
{
	char e[512];
	if (l->db && PQstatus(l->db) != CONNECTION_OK) {
		PQreset(l->db);
		if (PQstatus(l->db) != CONNECTION_OK) {
			log_warn("cannot reach postgresql; retrying", "error",
				 PQerrorMessage(l->db));
			return false;
		}
		log_info("reconnected to postgresql");
	}
	if (!l->db) {
		l->db = pg_connect(l->cfg->database_url, e, sizeof e);
		if (!l->db) {
			log_warn("cannot reach postgresql; retrying", "error", e);
			return false;
		}
	}
	if (!l->ec) {
		l->ec = engine_connect(l->eng, e, sizeof e);
		if (!l->ec) {
			log_warn("cannot reach redis; retrying", "error", e);
			return false;
		}
	}
	return true;
}

static void lease(struct loop *l)
{
	int64_t now = mono_ms();
	if (now < l->lease_due)
		return;
	bool held = false;
	int rc = l->leader ? engine_lease_renew(l->ec, "lease:scheduler", l->owner, l->o.lease_ms,
						&held)
			   : engine_lease_acquire(l->ec, "lease:scheduler", l->owner, l->o.lease_ms,
						  &held);
	if (rc < 0) {
		log_warn("cannot reach redis for the scheduler lease", "error",
			 engine_conn_error(l->ec));
		drop_engine(l);
		return;
	}
	if (held && !l->leader) {
		log_info("scheduler is the leader", "owner", l->owner);
		l->reconcile_due = 0;
	} else if (!held && l->leader) {
		log_warn("scheduler lost leadership", "owner", l->owner);
	}
	l->leader = held;
	/* The leader renews at a third of the lease; a follower polls at a
	 * tenth, so it takes over soon after the lease expires. */
	int64_t every = held ? l->o.lease_ms / 3 : l->o.lease_ms / 10;
	l->lease_due = now + (every < 20 ? 20 : every);
}

static PGresult *query(struct loop *l, const char *sql, int n, const char *const *vals)
{
	PGresult *r = PQexecParams(l->db, sql, n, NULL, vals, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		const char *m = PQresultErrorMessage(r);
		log_warn("scheduler query failed", "error", m);
		PQclear(r);
		return NULL;
	}
	return r;
}

static int64_t col_ms(const PGresult *r, int row, int col)
{
	int64_t v;
	if (PQgetisnull(r, row, col) || parse_i64(PQgetvalue(r, row, col), &v) < 0)
		return JS_TIME_NULL;
	return v;
}

/* Move a job's next_run_at from old (may be NULL) to next; last_run_at = now
 * when started. Compare-and-set: a concurrent leader's move wins. */
static void move_job(struct loop *l, const char *pid, int64_t old, int64_t next, bool started)
{
	char o[24], n[24];
	const char *vals[4] = {pid, old == JS_TIME_NULL ? NULL : fmt_i64(o, old),
			       next == JS_TIME_NULL ? NULL : fmt_i64(n, next),
			       started ? "true" : "false"};
	PGresult *r = query(l,
			    "UPDATE sync_job SET next_run_at = timestamptz 'epoch' + $3::bigint *"
			    " interval '1 millisecond',"
			    " last_run_at = CASE WHEN $4::boolean THEN now() ELSE last_run_at END"
			    " WHERE project_id = $1 AND next_run_at IS NOT DISTINCT FROM"
			    " timestamptz 'epoch' + $2::bigint * interval '1 millisecond'",
			    4, vals);
	PQclear(r);
}

/* Fire the due schedules; returns how many rows were due (a full batch
 * means: call again). */
static int fire_due(struct loop *l)
{
	char nowb[24], lim[24];
	int64_t now = now_ms();
	const char *vals[2] = {fmt_i64(nowb, now), fmt_i64(lim, DUE_BATCH)};
	PGresult *r = query(l,
			    "SELECT j.project_id, p.key, j.effective_cron, j.jitter_seconds,"
			    " j.overlap_policy, (extract(epoch from j.next_run_at) * 1000)::bigint"
			    " FROM sync_job j JOIN project p ON p.id = j.project_id"
			    " WHERE j.status = 'ACTIVE' AND j.next_run_at <="
			    " timestamptz 'epoch' + $1::bigint * interval '1 millisecond'"
			    " ORDER BY j.next_run_at LIMIT $2::int",
			    2, vals);
	if (!r)
		return -1;
	int n = PQntuples(r);
	for (int i = 0; i < n && !atomic_load(l->stop); i++) {
		const char *pid = PQgetvalue(r, i, 0), *key = PQgetvalue(r, i, 1);
		const char *cron_text = PQgetvalue(r, i, 2), *policy = PQgetvalue(r, i, 4);
		int64_t jitter = 0, project_id = 0;
		int64_t fire = col_ms(r, i, 5);
		struct cron c;
		if (parse_i64(PQgetvalue(r, i, 3), &jitter) < 0 ||
		    parse_i64(pid, &project_id) < 0 || cron_parse(cron_text, &c, NULL, 0) < 0) {
			log_warn("schedule has an invalid cron; not firing", "project", key, "cron",
				 cron_text);
			move_job(l, pid, fire, JS_TIME_NULL, false);
			continue;
		}
		/* Collapse the missed slots: the newest slot whose fire time has
		 * passed is the one that runs. */
		int64_t slot = fire - jitter * 1000, next_slot, next_fire = fire;
		int steps = 0;
		for (;;) {
			if (cron_next_jittered(&c, next_fire, (uint32_t)jitter, &next_slot,
					       &next_fire) < 0) {
				next_fire = JS_TIME_NULL;
				break;
			}
			if (next_fire > now || ++steps > CATCHUP_MAX_STEPS)
				break;
			slot = next_slot;
		}
		if (next_fire != JS_TIME_NULL && next_fire <= now &&
		    cron_next_jittered(&c, now, (uint32_t)jitter, &next_slot, &next_fire) < 0)
			next_fire = JS_TIME_NULL;
		if (next_fire == JS_TIME_NULL) {
			log_warn("schedule never fires again; not firing", "project", key);
			move_job(l, pid, fire, JS_TIME_NULL, false);
			continue;
		}
		struct sched_fire f = {.project_id = project_id,
				       .policy = policy,
				       .trigger = "schedule",
				       .slot_ms = slot,
				       .full = false};
		enum sched_fire_outcome o;
		int64_t run_id = 0;
		char kind[16], e[STORE_ERRLEN];
		if (sched_fire_run(l->db, l->ec, &f, &o, &run_id, kind, e, sizeof e) < 0) {
			log_warn("cannot fire schedule", "project", key, "error", e);
			if (store_conn_lost(l->db))
				break;
			continue;
		}
		char sl[32], rid[24];
		if (o == SCHED_FIRE_STARTED) {
			l->n_fired++;
			log_info("schedule fired", "project", key, "slot", jtime_format(sl, slot),
				 "#run", fmt_i64(rid, run_id), "kind", kind);
		} else if (o == SCHED_FIRE_SKIPPED) {
			l->n_skipped++;
			log_info("scheduled run skipped: a run is active", "project", key, "slot",
				 jtime_format(sl, slot));
		} else if (o == SCHED_FIRE_BUFFERED) {
			log_info("scheduled run buffered until the active run ends", "project", key,
				 "slot", jtime_format(sl, slot));
		}
		move_job(l, pid, fire, next_fire, o == SCHED_FIRE_STARTED);
	}
	PQclear(r);
	return n;
}

/* Jobs without a next_run_at (registered by an older build, or a cron
 * that was invalid) get one. */
static void fill_next(struct loop *l)
{
	PGresult *r = query(l,
			    "SELECT project_id, effective_cron, jitter_seconds FROM sync_job"
			    " WHERE status = 'ACTIVE' AND next_run_at IS NULL LIMIT 1000",
			    0, NULL);
	if (!r)
		return;
	for (int i = 0; i < PQntuples(r); i++) {
		int64_t jitter, slot, fire;
		if (parse_i64(PQgetvalue(r, i, 2), &jitter) < 0 ||
		    sched_next_fire(PQgetvalue(r, i, 1), (int)jitter, now_ms(), &slot, &fire) < 0)
			continue;
		move_job(l, PQgetvalue(r, i, 0), JS_TIME_NULL, fire, false);
	}
	PQclear(r);
}

/* Start the buffered triggers of projects whose active run ended. */
static void start_buffered(struct loop *l)
{
	PGresult *r = query(
		l,
		"SELECT j.project_id, coalesce(j.buffered_trigger, ''), j.buffered_full,"
		" (extract(epoch from j.buffered_slot_at) * 1000)::bigint,"
		" coalesce(array_to_string(j.buffered_accounts, ','), ''), j.status::text"
		" FROM sync_job j WHERE (j.buffered_trigger IS NOT NULL"
		"   OR j.buffered_accounts IS NOT NULL)"
		" AND NOT EXISTS (SELECT 1 FROM sync_run r WHERE r.project_id = j.project_id"
		"   AND r.status = 'RUNNING') LIMIT 200",
		0, NULL);
	if (!r)
		return;
	for (int i = 0; i < PQntuples(r) && !atomic_load(l->stop); i++) {
		const char *pid = PQgetvalue(r, i, 0), *trig = PQgetvalue(r, i, 1);
		const char *accounts = PQgetvalue(r, i, 4);
		int64_t project_id;
		if (parse_i64(pid, &project_id) < 0)
			continue;
		bool backfill = *accounts != '\0';
		if (!backfill && strcmp(trig, "schedule") == 0 &&
		    strcmp(PQgetvalue(r, i, 5), "ACTIVE") != 0)
			continue;
		/* The account list as an argv (ids are validated: no commas). */
		char *list = xstrdup(accounts);
		const char *ids[1000];
		size_t n = 0;
		for (char *s = list; *s && n < JS_ARRAY_LEN(ids);) {
			size_t len = strcspn(s, ",");
			bool last = s[len] == '\0';
			s[len] = '\0';
			if (len)
				ids[n++] = s;
			s += len + (last ? 0 : 1);
		}
		int64_t slot = backfill ? JS_TIME_NULL : col_ms(r, i, 3);
		int64_t run_id;
		char kind[16], e[STORE_ERRLEN];
		int rc = store_run_start(l->db, project_id,
					 !backfill && PQgetvalue(r, i, 2)[0] == 't',
					 backfill ? "backfill" : trig, slot, backfill ? ids : NULL,
					 backfill ? n : 0, &run_id, kind, e, sizeof e);
		bool clear = rc == 0;
		if (rc == 0 && sched_enqueue_step(l->ec, run_id, 0) < 0)
			log_warn("cannot enqueue the first step; the reconciler will", "error",
				 engine_conn_error(l->ec));
		if (rc == 1 && slot != JS_TIME_NULL) {
			/* Taken slot: that firing already has its run. */
			PGresult *t = query(
				l,
				"SELECT 1 FROM sync_run WHERE project_id = $1 AND slot_at ="
				" timestamptz 'epoch' + $2::bigint * interval '1 millisecond'",
				2, (const char *const[]){pid, PQgetvalue(r, i, 3)});
			clear = t && PQntuples(t) > 0;
			PQclear(t);
		}
		if (rc < 0)
			log_warn("cannot start a buffered run", "error", e);
		if (clear) {
			char rid[24];
			if (rc == 0)
				log_info("buffered trigger started", "#run", fmt_i64(rid, run_id),
					 "kind", kind);
			const char *cv[2] = {pid, accounts};
			if (backfill)
				PQclear(query(
					l,
					"UPDATE sync_job SET buffered_accounts = NULL WHERE project_id = $1"
					" AND array_to_string(buffered_accounts, ',') = $2",
					2, cv));
			else
				PQclear(query(l,
					      "UPDATE sync_job SET buffered_trigger = NULL,"
					      " buffered_full = false, buffered_slot_at = NULL"
					      " WHERE project_id = $1",
					      1, cv));
		}
		free(list);
	}
	PQclear(r);
}

/*
 * The reconciler (see engine.h): a RUNNING run whose checkpoint has not
 * moved for the grace period and of which Redis holds no task lost its task
 * (Redis restarted or flushed, a process died at the wrong moment, or an
 * operation created the run without a queue connection): enqueue the step
 * after its checkpoint. Touching heartbeat_at gives that task a grace period
 * of its own before the run is looked at again.
 */
static void reconcile(struct loop *l)
{
	char g[24], after[24];
	const char *vals[2] = {fmt_i64(g, l->o.reconcile_grace_ms),
			       fmt_i64(after, l->reconcile_after)};
	/* A pass looks at up to RECONCILE_BATCH runs after the last one seen,
	 * so that every run is looked at, however many are RUNNING. */
	PGresult *r = query(l,
			    "SELECT id, step_seq FROM sync_run WHERE status = 'RUNNING'"
			    " AND heartbeat_at < now() - $1::bigint * interval '1 millisecond'"
			    " AND id > $2::bigint ORDER BY id LIMIT " JS_STR(RECONCILE_BATCH),
			    2, vals);
	if (!r)
		return;
	int n = PQntuples(r);
	if (n < RECONCILE_BATCH)
		l->reconcile_after = 0;
	else if (parse_i64(PQgetvalue(r, n - 1, 0), &l->reconcile_after) < 0)
		l->reconcile_after = 0;
	for (int i = 0; i < n && l->ec; i++) {
		int64_t run_id, seq, live = 0;
		if (parse_i64(PQgetvalue(r, i, 0), &run_id) < 0 ||
		    parse_i64(PQgetvalue(r, i, 1), &seq) < 0)
			continue;
		if (engine_run_live(l->ec, run_id, &live) < 0) {
			drop_engine(l);
			break;
		}
		if (live > 0)
			continue;
		if (sched_enqueue_step(l->ec, run_id, (int)seq) < 0) {
			drop_engine(l);
			break;
		}
		log_info("reconciler re-enqueued a run without a live task", "#run",
			 PQgetvalue(r, i, 0), "#seq", PQgetvalue(r, i, 1));
		PQclear(query(
			l,
			"UPDATE sync_run SET heartbeat_at = now() WHERE id = $1 AND step_seq = $2"
			" AND status = 'RUNNING'",
			2, (const char *const[]){PQgetvalue(r, i, 0), PQgetvalue(r, i, 1)}));
	}
	PQclear(r);
}

/* Milliseconds until the earliest ACTIVE next_run_at (0 when due; -1 when
 * none or unknown). */
static int64_t until_next_due(struct loop *l)
{
	PGresult *r = query(
		l,
		"SELECT (extract(epoch from min(next_run_at)) * 1000)::bigint FROM sync_job"
		" WHERE status = 'ACTIVE'",
		0, NULL);
	if (!r)
		return -1;
	int64_t t = PQntuples(r) == 1 ? col_ms(r, 0, 0) : JS_TIME_NULL;
	PQclear(r);
	if (t == JS_TIME_NULL)
		return -1;
	int64_t d = t - now_ms();
	return d < 0 ? 0 : d;
}

static void leader_tick(struct loop *l)
{
	int moved = 0;
	for (int i = 0; i < 20; i++) {
		if (engine_promote_due(l->ec, 1000, &moved) < 0) {
			drop_engine(l);
			return;
		}
		if (moved < 1000)
			break;
	}
	int n;
	/* Keep firing while full batches come back, renewing the lease. */
	while ((n = fire_due(l)) == DUE_BATCH && !atomic_load(l->stop) && l->leader && l->ec)
		lease(l);
	if (!l->ec || !l->leader)
		return;
	start_buffered(l);
	int64_t now = mono_ms();
	if (now >= l->reconcile_due) {
		fill_next(l);
		reconcile(l);
		l->reconcile_due = now + (l->o.reconcile_grace_ms < 5000
						  ? l->o.reconcile_grace_ms / 2
						  : 2500);
	}
}

int sched_loop_run(const struct config *cfg, const struct sched_loop_opts *o, atomic_int *stop)
{
	struct loop l;
	memset(&l, 0, sizeof l);
	l.cfg = cfg;
	l.stop = stop;
	l.o.lease_ms = o && o->lease_ms > 0 ? o->lease_ms : 10000;
	l.o.tick_ms = o && o->tick_ms > 0 ? o->tick_ms : 1000;
	l.o.reconcile_grace_ms = o && o->reconcile_grace_ms > 0 ? o->reconcile_grace_ms : 5000;
	char host[64] = "host";
	gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = '\0';
	snprintf(l.owner, sizeof l.owner, "%s-%ld-%" PRId64, host, (long)getpid(),
		 now_ms() % 1000000);

	struct engine_options eo;
	sched_engine_options(cfg, &eo);
	char e[512];
	l.eng = engine_new(&eo, e, sizeof e);
	if (!l.eng) {
		log_error("cannot configure the engine", "error", e);
		return -1;
	}
	char lb[24];
	log_info("scheduler started", "owner", l.owner, "#lease_ms", fmt_i64(lb, l.o.lease_ms));
	l.backoff_ms = 100;
	while (!atomic_load(stop)) {
		if (!connect_all(&l)) {
			nap(&l, l.backoff_ms);
			l.backoff_ms = l.backoff_ms * 2 > 5000 ? 5000 : l.backoff_ms * 2;
			continue;
		}
		l.backoff_ms = 100;
		lease(&l);
		if (l.ec && l.leader)
			leader_tick(&l);
		if (!l.ec)
			continue;
		/* Sleep until the next due fire, the lease or the tick. */
		int64_t sleep = l.o.tick_ms;
		int64_t to_lease = l.lease_due - mono_ms();
		if (to_lease < sleep)
			sleep = to_lease;
		if (l.leader) {
			int64_t due = until_next_due(&l);
			if (due >= 0 && due < sleep)
				sleep = due;
		}
		nap(&l, sleep < 5 ? 5 : sleep); /* never a busy loop */
	}
	if (l.leader && l.ec && engine_lease_release(l.ec, "lease:scheduler", l.owner) < 0)
		log_warn("cannot release the scheduler lease", "error", engine_conn_error(l.ec));
	char nf[24], ns[24];
	log_info("scheduler stopped", "#fired", fmt_i64(nf, l.n_fired), "#skipped",
		 fmt_i64(ns, l.n_skipped));
	engine_conn_free(l.ec);
	engine_free(l.eng);
	PQfinish(l.db);
	return 0;
}
