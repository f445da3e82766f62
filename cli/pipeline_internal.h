/* SPDX-License-Identifier: MIT */
/* pipeline_internal.h: the engine's insides that the --threads driver (shards.c) shares with pipeline.c. */
#ifndef TD_CLI_PIPELINE_INTERNAL_H
#define TD_CLI_PIPELINE_INTERNAL_H

#include "pipeline.h"

#include "../capture/decode.h"
#include "../capture/flow.h"
#include "../dissect/tls.h"

/* Distinct link types of one input, for its summary. */
#define MAX_LINKTYPES 32

/* The progress line is fed every this many frames (+1): reading the clock per frame would cost more than the
 * frame. */
#define PROGRESS_EVERY_FRAMES 1023u

struct td_engine {
    const struct td_pipeline_options *opts;
    struct td_report *report;
    FILE *errs;
    size_t input_index; /* index of the input being read, as registered in the report */
    struct td_server_table *servers;
    struct td_flow_table *flows;
    struct td_input_summary in; /* the input being read */
    uint32_t unknown_linktype;  /* the first link type of this input we could not decode */
    int max_severity;           /* most severe finding of the connection being closed (-1: none) */
    bool evidence_error_said;   /* the first failure to write an evidence file was reported on errs */
    bool out_of_memory;
    struct td_flow_stats shard_stats; /* --threads: the flow tables' counters, summed over the files */
    bool sharded_inputs;              /* files were read by shards: shard_stats is the count */
    struct td_spill *spill;           /* this thread's connections' facts (NULL: on the heap); workers have theirs */
};

/* Per-flow consumer state. */
struct conn {
    struct td_tls_conn *tls;
    size_t input_index;
};

/* td_engine_spill_new makes a spill file for one thread's connections (capture/spill.h) in $TMPDIR or /tmp;
 * NULL when that cannot be done (connections then keep their facts on the heap, as before). */
struct td_spill *td_engine_spill_new(const struct td_pipeline_options *opts);

/* td_engine_callbacks: the flow table callbacks that move stream bytes into a connection's dissector, with the
 * caller's on_open and on_close. */
struct td_flow_callbacks td_engine_callbacks(void *ctx, void *(*on_open)(void *ctx, const struct td_flow_info *info),
                                             void (*on_close)(void *ctx, void *user, const struct td_flow_info *info));
/* td_engine_count_frame counts one frame and its decode result in the input summary; *unknown_linktype gets the
 * link type of the input's first frame the decoder did not know. */
void td_engine_count_frame(struct td_input_summary *in, const struct td_frame *frame, enum td_decode_result r,
                           uint32_t *unknown_linktype);
/* td_engine_feed gives a decoded frame to a flow table (nothing for frames that carry no transport we follow). */
void td_engine_feed(struct td_flow_table *flows, enum td_decode_result r, const struct td_segment *seg,
                    const struct td_frame *frame);
/* td_engine_commit reports one finished connection (report entry, rules, evidence, events), in close order. */
void td_engine_commit(struct td_engine *e, size_t input_index, const struct td_flow_info *info,
                      const struct td_tls_facts *facts, struct td_report_prepared *prep, bool free_prep);
/* td_engine_stopped: the run was interrupted (opts->stop set). */
bool td_engine_stopped(const struct td_engine *e);
/* td_engine_file_size: a regular file's size for the progress line, 0 otherwise. */
uint64_t td_engine_file_size(const char *path);

/* td_shards_analyse_file reads one capture with opts->threads workers (shards.c): the results are those of
 * one thread, byte for byte. */
void td_shards_analyse_file(struct td_engine *e, const char *path, FILE *errs, struct td_pipeline_result *result);

/* Live with --threads: the capture thread fills a frame ring (frame_ring.h) that every worker reads. */
struct td_frame_ring;

/* What worker 0 has seen, as of the last clock tick in the ring. */
struct td_shards_counters {
    uint64_t frames, bytes;
    uint64_t flows_active, flows_total, flows_evicted;
};

struct td_shards_live {
    struct td_frame_ring *ring;
    /* Called on this thread between commits and at least every 200 ms: statistics events, log rotation. */
    void (*periodic)(void *ctx, const struct td_shards_counters *c);
    void *ctx;
};

/* td_shards_analyse_live runs opts->threads workers over the ring until its end, committing on this thread as
 * td_shards_analyse_file does; the caller begins and ends the input. False when workers could not be started
 * (the engine is then out of memory; the ring does not wait for them). */
bool td_shards_analyse_live(struct td_engine *e, const struct td_shards_live *live);

#endif
