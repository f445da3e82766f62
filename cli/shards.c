/* SPDX-License-Identifier: MIT */
/* shards.c: --threads N. Workers analyse their shard of the connections; this thread commits them in the order
 * one thread would have. */
#include "pipeline_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../capture/reader.h"
#include "../capture/spill.h"
#include "frame_ring.h"
#include "progress.h"

/* ---- --threads N: shards ----
 *
 * Every worker reads the whole file and keeps the whole flow table (td_flow_table_set_shard: ids, idle
 * timeouts, evictions and the close order are those of one table), but reassembles into the dissector,
 * classifies and converts to JSON only the connections of its shard of the symmetric 5-tuple hash. Finished
 * connections queue up with their close_seq; this thread takes them in close_seq order and does what must be
 * sequential: rules (connection rules read their server's facts as known so far), the report, events.
 * Results are therefore those of one thread, byte for byte. Reading and decoding are repeated per worker: they
 * are a small part of the cost, and nothing is copied between threads but finished connections. */

/* Finished connections a worker may hold before it waits for the committer. */
#define SHARD_QUEUE_LEN 256u
/* A waiting committer is woken once a worker has this many connections queued (or is done), not for each one:
 * a wake-up per connection (a futex call and two context switches) was a tenth of a two-thread run's CPU on
 * short connections. The committer's timed wait bounds the delay on a quiet live link. */
#define SHARD_WAKE_BATCH 128u

struct closed {
    struct td_flow_info info;           /* info.encap: td_encap_path_none, or encap below once committed */
    struct td_encap_path encap;         /* the flow's own path, which the flow table frees at on_close */
    struct td_tls_conn *tls;            /* NULL: the connection had no state (memory ran out at its open) */
    struct td_report_prepared *prep;    /* its report JSON, made on the worker */
    size_t input_index;
    uint32_t worker;                    /* the worker it came from (its memory goes back there) */
};

struct shards;

/* What a committed connection leaves to free. It goes back to the worker that allocated it: glibc frees a
 * block fastest on the thread (arena) that made it, and freeing another thread's blocks was a third of a
 * two-thread run. */
struct spent {
    struct td_tls_conn *tls;
    struct td_report_prepared *prep;
};

#define SPENT_LEN (2u * SHARD_QUEUE_LEN)

struct worker {
    struct shards *sh;
    uint32_t index;
    pthread_t thread;
    bool started;
    struct td_flow_table *flows;
    struct td_spill *spill;             /* its connections' facts (NULL: heap); freed after every connection */
    struct closed queue[SHARD_QUEUE_LEN];
    size_t head, count;                 /* under sh->mu */
    struct spent spent[SPENT_LEN];      /* under sh->mu: committed, to be freed by this worker */
    size_t num_spent;
    bool done;                          /* under sh->mu: the file is read and every connection queued */
    bool out_of_memory;
    /* worker 0 only: what the input summary and the progress line need */
    struct td_input_summary in;
    uint32_t unknown_linktype;
    enum td_reader_status status;
    struct td_error err;
    uint32_t linktypes[MAX_LINKTYPES];
    size_t num_linktypes;
    char format[32];
    _Atomic uint64_t offset;            /* bytes of the file read so far */
    /* worker 0, live: published at each clock tick for the statistics events */
    _Atomic uint64_t live_frames, live_bytes, live_flows_active, live_flows_total, live_flows_evicted;
};

struct shards {
    struct td_engine *engine;
    const char *path;                   /* a file, or */
    struct td_frame_ring *ring;         /* live frames */
    const struct td_shards_live *live;
    uint32_t num;
    struct worker *workers;
    pthread_mutex_t mu;
    pthread_cond_t ready;               /* a worker queued a connection or finished */
    pthread_cond_t space;               /* the committer took a connection */
    /* Who sleeps (under mu): a wake-up is a system call and, on a VM, an interrupt to another CPU, so it is
     * sent only to a thread that waits. */
    bool committer_waits;
    uint32_t workers_waiting;
};

static void *shard_open(void *ctx, const struct td_flow_info *info)
{
    (void)info;
    struct worker *w = ctx;
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->tls = td_tls_conn_new(&w->sh->engine->opts->limits, w->spill)) == NULL) {
        free(c);
        w->out_of_memory = true;
        return NULL;
    }
    c->input_index = w->sh->engine->input_index;
    return c;
}

static void free_spent(struct spent *spent, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        td_tls_conn_free(spent[i].tls);
        td_report_prepared_free(spent[i].prep);
    }
}

/* give_back hands a committed connection's memory to its worker (or frees it here when the worker has
 * finished or its list is full). */
static void give_back(struct shards *sh, uint32_t worker, struct td_tls_conn *tls, struct td_report_prepared *prep)
{
    struct worker *w = &sh->workers[worker];
    pthread_mutex_lock(&sh->mu);
    bool kept = !w->done && w->num_spent < SPENT_LEN;
    if (kept) {
        w->spent[w->num_spent++] = (struct spent){.tls = tls, .prep = prep};
    }
    pthread_mutex_unlock(&sh->mu);
    if (!kept) {
        struct spent one = {.tls = tls, .prep = prep};
        free_spent(&one, 1);
    }
}

static void shard_close(void *ctx, void *user, const struct td_flow_info *info)
{
    struct worker *w = ctx;
    struct conn *c = user;
    struct closed item = {.info = *info, .input_index = w->sh->engine->input_index, .worker = w->index};
    if (td_flow_encap(info) != &td_encap_path_none) {
        item.encap = *info->encap;
    }
    if (c != NULL) {
        td_tls_conn_finish(c->tls, info->last_frame, info->last_ts_ns);
        item.tls = c->tls;
        item.prep = td_report_prepare(w->sh->engine->report, c->input_index, info, td_tls_conn_facts(c->tls));
        free(c);
    }
    struct shards *sh = w->sh;
    struct spent spent[SPENT_LEN];
    size_t num_spent;
    pthread_mutex_lock(&sh->mu);
    while (w->count == SHARD_QUEUE_LEN) {
        sh->workers_waiting++;
        pthread_cond_wait(&sh->space, &sh->mu);
        sh->workers_waiting--;
    }
    w->queue[(w->head + w->count) % SHARD_QUEUE_LEN] = item;
    w->count++;
    num_spent = w->num_spent;
    memcpy(spent, w->spent, num_spent * sizeof(spent[0]));
    w->num_spent = 0;
    if (sh->committer_waits && w->count >= SHARD_WAKE_BATCH) {
        pthread_cond_signal(&sh->ready);
    }
    pthread_mutex_unlock(&sh->mu);
    free_spent(spent, num_spent);
}

/* worker_frame: one frame through a worker's flow table; worker 0 also keeps the input summary. */
static void worker_frame(struct worker *w, const struct td_frame *frame)
{
    struct td_segment seg;
    enum td_decode_result dr = td_decode_frame(frame->linktype, frame->data, frame->caplen, &seg);
    if (w->index == 0) {
        td_engine_count_frame(&w->in, frame, dr, &w->unknown_linktype);
    }
    td_engine_feed(w->flows, dr, &seg, frame);
    if (w->spill != NULL) {
        td_spill_tick(w->spill);
    }
}

/* Worker 0 publishes its counters every this many frames (+1) and at every tick: fresh enough for statistics
 * events, and the committer reads the cache line only then. */
#define PUBLISH_EVERY_FRAMES 63u

/* publish_live: worker 0 tells the committer (statistics events) how far the capture has come. */
static void publish_live(struct worker *w)
{
    const struct td_flow_stats *fs = td_flow_table_stats(w->flows);
    atomic_store_explicit(&w->live_frames, w->in.frames, memory_order_relaxed);
    atomic_store_explicit(&w->live_bytes, w->in.bytes, memory_order_relaxed);
    atomic_store_explicit(&w->live_flows_active, td_flow_table_active(w->flows), memory_order_relaxed);
    atomic_store_explicit(&w->live_flows_total, fs->flows_total, memory_order_relaxed);
    atomic_store_explicit(&w->live_flows_evicted, fs->flows_evicted, memory_order_relaxed);
}

/* read_file: the worker reads the whole file itself. */
static void read_file(struct worker *w)
{
    struct shards *sh = w->sh;
    struct td_reader *reader = NULL;
    struct td_error err = {0};
    w->status = TD_READ_ERROR;
    if (td_reader_open(sh->path, &reader, &err) != TD_OK) {
        if (w->index == 0) {
            w->err = err;
        }
        return;
    }
    struct td_frame frame;
    const volatile sig_atomic_t *stop = sh->engine->opts->stop;
    while ((w->status = td_reader_next(reader, &frame, &err)) == TD_READ_FRAME) {
        if (stop != NULL && *stop) {
            break;
        }
        worker_frame(w, &frame);
        if (w->index == 0 && (frame.frame & PROGRESS_EVERY_FRAMES) == 0) {
            w->offset = td_reader_offset(reader);
        }
    }
    td_flow_table_flush(w->flows);
    if (w->index == 0) {
        w->err = err;
        size_t n = td_reader_num_linktypes(reader);
        w->num_linktypes = n < MAX_LINKTYPES ? n : MAX_LINKTYPES;
        for (size_t i = 0; i < w->num_linktypes; i++) {
            w->linktypes[i] = td_reader_linktype_at(reader, i);
        }
        snprintf(w->format, sizeof(w->format), "%s", td_reader_format_name(reader));
        w->offset = td_reader_offset(reader);
    }
    td_reader_free(reader);
}

/* read_ring: live: every frame, tick and the end from the capture thread's ring, as one thread would see them. */
static void read_ring(struct worker *w)
{
    struct td_frame frame;
    int64_t now = 0;
    enum td_ring_entry kind;
    while ((kind = td_frame_ring_next(w->sh->ring, w->index, &frame, &now)) != TD_RING_END) {
        if (kind == TD_RING_FRAME) {
            worker_frame(w, &frame);
            if (w->index == 0 && (w->in.frames & PUBLISH_EVERY_FRAMES) == 0) {
                publish_live(w);
            }
            continue;
        }
        td_flow_table_expire(w->flows, now);
        if (w->index == 0) {
            publish_live(w);
        }
    }
    td_flow_table_flush(w->flows);
    w->status = TD_READ_END;
    if (w->index == 0) {
        publish_live(w);
    }
}

static void *shard_main(void *arg)
{
    struct worker *w = arg;
    struct shards *sh = w->sh;
    if (sh->ring != NULL) {
        read_ring(w);
    } else {
        read_file(w);
    }
    pthread_mutex_lock(&sh->mu);
    w->done = true;
    size_t num_spent = w->num_spent;
    w->num_spent = 0;
    pthread_cond_signal(&sh->ready);
    pthread_mutex_unlock(&sh->mu);
    free_spent(w->spent, num_spent); /* done: the committer adds no more */
    return NULL;
}

/* next_closed takes the connection with close_seq `seq` off its worker's queue, waiting for it; false when
 * every worker is done and nothing is queued. */
/* wait_ready waits (sh->mu held) for a worker to queue or finish, at most 200 ms: the progress line and an
 * interruption are looked at in between. */
static void wait_ready(struct shards *sh)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 200000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    sh->committer_waits = true;
    (void)pthread_cond_timedwait(&sh->ready, &sh->mu, &until);
    sh->committer_waits = false;
}

static void discard_closed(struct closed *item)
{
    td_tls_conn_free(item->tls);
    td_report_prepared_free(item->prep);
}

/* live_periodic gives the live driver its turn (statistics events, log rotation) with worker 0's counters. */
static void live_periodic(struct shards *sh)
{
    struct worker *w0 = &sh->workers[0];
    struct td_shards_counters c = {
        .frames = atomic_load_explicit(&w0->live_frames, memory_order_relaxed),
        .bytes = atomic_load_explicit(&w0->live_bytes, memory_order_relaxed),
        .flows_active = atomic_load_explicit(&w0->live_flows_active, memory_order_relaxed),
        .flows_total = atomic_load_explicit(&w0->live_flows_total, memory_order_relaxed),
        .flows_evicted = atomic_load_explicit(&w0->live_flows_evicted, memory_order_relaxed),
    };
    sh->live->periodic(sh->live->ctx, &c);
}

static bool next_closed(struct shards *sh, uint64_t seq, struct closed *out)
{
    struct td_progress *progress = sh->engine->opts->progress;
    pthread_mutex_lock(&sh->mu);
    for (;;) {
        if (td_engine_stopped(sh->engine)) {
            /* Interrupted: the workers stopped at different frames, so close_seq no longer lines up, and
             * nothing will be reported. Drain the queues until every worker is done. */
            bool all_done = true;
            for (uint32_t k = 0; k < sh->num; k++) {
                struct worker *w = &sh->workers[k];
                for (; w->count > 0; w->count--, w->head = (w->head + 1) % SHARD_QUEUE_LEN) {
                    discard_closed(&w->queue[w->head]);
                }
                all_done = all_done && w->done;
            }
            pthread_cond_broadcast(&sh->space);
            if (all_done) {
                pthread_mutex_unlock(&sh->mu);
                return false;
            }
            wait_ready(sh);
            continue;
        }
        bool all_done = true;
        for (uint32_t k = 0; k < sh->num; k++) {
            struct worker *w = &sh->workers[k];
            if (w->count > 0 && w->queue[w->head].info.close_seq == seq) {
                *out = w->queue[w->head];
                w->head = (w->head + 1) % SHARD_QUEUE_LEN;
                w->count--;
                if (sh->workers_waiting > 0) {
                    pthread_cond_broadcast(&sh->space);
                }
                pthread_mutex_unlock(&sh->mu);
                return true;
            }
            all_done = all_done && w->done && w->count == 0;
        }
        if (all_done) {
            pthread_mutex_unlock(&sh->mu);
            return false;
        }
        wait_ready(sh);
        if (progress != NULL) {
            td_progress_update(progress, sh->workers[0].offset, td_progress_now_ns());
        }
        if (sh->live != NULL) {
            pthread_mutex_unlock(&sh->mu);
            live_periodic(sh);
            pthread_mutex_lock(&sh->mu);
        }
    }
}

/* start_workers creates the flow tables and starts the workers; false when that failed (those started run on
 * and are joined as usual). */
static bool start_workers(struct shards *sh)
{
    struct td_engine *e = sh->engine;
    pthread_mutex_init(&sh->mu, NULL);
    pthread_cond_init(&sh->ready, NULL);
    pthread_cond_init(&sh->space, NULL);
    for (uint32_t k = 0; k < sh->num; k++) {
        struct worker *w = &sh->workers[k];
        w->sh = sh;
        w->index = k;
        struct td_flow_callbacks cb = td_engine_callbacks(w, shard_open, shard_close);
        w->flows = td_flow_table_new(&e->opts->limits, &cb, e->opts->classify);
        if (w->flows == NULL) {
            return false;
        }
        w->spill = td_engine_spill_new(e->opts);
        td_flow_table_set_shard(w->flows, k, sh->num);
        if (pthread_create(&w->thread, NULL, shard_main, w) != 0) {
            return false;
        }
        w->started = true;
    }
    return true;
}

/* commit_and_join commits every connection in close order, whatever worker finished it, then joins the
 * workers and takes over worker 0's input summary and flow counters. */
static void commit_and_join(struct shards *sh)
{
    struct td_engine *e = sh->engine;
    struct closed item;
    for (uint64_t seq = 1; next_closed(sh, seq, &item); seq++) {
        if (td_flow_encap(&item.info) != &td_encap_path_none) {
            item.info.encap = &item.encap;
        }
        if (item.tls != NULL) {
            td_engine_commit(e, item.input_index, &item.info, td_tls_conn_facts(item.tls), item.prep, false);
        }
        give_back(sh, item.worker, item.tls, item.prep);
        if (sh->live != NULL) {
            live_periodic(sh);
        }
    }
    for (uint32_t k = 0; k < sh->num; k++) {
        struct worker *w = &sh->workers[k];
        if (w->started) {
            pthread_join(w->thread, NULL);
        }
        e->out_of_memory = e->out_of_memory || w->out_of_memory;
    }
    /* The summary is worker 0's: every worker read and decoded the same frames. */
    struct worker *w0 = &sh->workers[0];
    const char *name = e->in.path;
    e->in = w0->in;
    e->in.path = name;
    e->unknown_linktype = w0->unknown_linktype;
    if (w0->flows != NULL) {
        const struct td_flow_stats *fs = td_flow_table_stats(w0->flows);
        e->shard_stats.flows_total += fs->flows_total;
        e->shard_stats.flows_evicted += fs->flows_evicted;
        e->shard_stats.segments += fs->segments;
        e->shard_stats.segments_ignored += fs->segments_ignored;
        e->shard_stats.reasm_cap_hits += fs->reasm_cap_hits;
        if (fs->flows_active_max > e->shard_stats.flows_active_max) {
            e->shard_stats.flows_active_max = fs->flows_active_max;
        }
    }
}

static void free_shards(struct shards *sh)
{
    for (uint32_t k = 0; k < sh->num; k++) {
        td_flow_table_free(sh->workers[k].flows);
    }
    for (uint32_t k = 0; k < sh->num; k++) {
        td_spill_free(sh->workers[k].spill); /* every connection is freed by now, whichever thread did it */
    }
    pthread_cond_destroy(&sh->space);
    pthread_cond_destroy(&sh->ready);
    pthread_mutex_destroy(&sh->mu);
    free(sh->workers);
}

/* td_shards_analyse_file is analyse_file with opts->threads workers. The file was opened once already (format
 * checked); each worker opens it again. */
void td_shards_analyse_file(struct td_engine *e, const char *path, FILE *errs, struct td_pipeline_result *result)
{
    struct shards sh = {.engine = e, .path = path, .num = e->opts->threads};
    e->sharded_inputs = true;
    sh.workers = calloc(sh.num, sizeof(*sh.workers));
    if (sh.workers == NULL) {
        e->out_of_memory = true;
        return;
    }
    td_engine_begin_input(e, path);
    struct td_progress *progress = e->opts->progress;
    td_progress_file(progress, path);
    if (!start_workers(&sh)) {
        e->out_of_memory = true;
    }
    commit_and_join(&sh);
    td_progress_file_done(progress, td_engine_file_size(path));
    td_progress_clear(progress);
    struct worker *w0 = &sh.workers[0];
    struct td_engine_input end = {.format = w0->format, .linktypes = w0->linktypes,
                                  .num_linktypes = w0->num_linktypes};
    if (w0->status == TD_READ_ERROR) {
        fprintf(errs, "tlsdiag: %s\n", w0->err.msg);
        end.error = w0->err.msg;
        result->inputs_partial++;
    } else {
        result->inputs_read++;
    }
    result->frames += e->in.frames;
    result->bytes += e->in.bytes;
    td_engine_end_input(e, &end);
    free_shards(&sh);
}

bool td_shards_analyse_live(struct td_engine *e, const struct td_shards_live *live)
{
    struct shards sh = {.engine = e, .ring = live->ring, .live = live, .num = e->opts->threads};
    e->sharded_inputs = true;
    sh.workers = calloc(sh.num, sizeof(*sh.workers));
    if (sh.workers == NULL) {
        e->out_of_memory = true;
        return false;
    }
    bool ok = start_workers(&sh);
    if (!ok) {
        e->out_of_memory = true;
        /* Workers that did not start never read the ring: the producer must not wait for them. */
        for (uint32_t k = 0; k < sh.num; k++) {
            if (!sh.workers[k].started) {
                td_frame_ring_detach(live->ring, k);
            }
        }
    }
    commit_and_join(&sh);
    free_shards(&sh);
    return ok;
}
