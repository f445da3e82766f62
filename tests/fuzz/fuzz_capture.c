/* SPDX-License-Identifier: MIT */
/* fuzz_capture.c: the whole offline pipeline on arbitrary bytes as a capture file, as `tlsdiag -q -j /dev/null
 * FILE` runs it (cli/pipeline.c is linked in): format detection and gzip, the pcap/pcapng/NetMon readers, link/IP/
 * TCP decode, the flow table and reassembly, nDPI (for one input in 8), the TLS dissector, the built-in rules and
 * the JSON report. */
#define _GNU_SOURCE // memfd_create
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../cli/pipeline.h"
#include "fuzz.h"

static const struct td_ruleset *builtin_rules(void)
{
    static struct td_ruleset *rs;
    if (rs != NULL) {
        return rs;
    }
    struct td_error err = {0};
    rs = td_ruleset_new();
    if (rs == NULL || td_ruleset_add_builtin(rs, &err) != TD_OK) {
        fprintf(stderr, "fuzz_capture: built-in rules do not load: %s\n", err.msg);
        __builtin_trap();
    }
    return rs;
}

/* Messages about broken inputs are expected for almost every input: send them nowhere. */
static FILE *null_stream(void)
{
    static FILE *null;
    if (null == NULL) {
        null = fopen("/dev/null", "w");
        if (null == NULL) {
            __builtin_trap();
        }
    }
    return null;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    // The readers open a path, so the input becomes an anonymous in-memory file reached through /proc.
    int fd = memfd_create("fuzz-capture", 0);
    if (fd < 0) {
        __builtin_trap();
    }
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) {
            __builtin_trap();
        }
        done += (size_t)n;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    char *paths[] = {path};

    // nDPI builds its detection module for every run (tens of milliseconds under the sanitizers, most of this
    // target's time), so only inputs whose size is a multiple of 8 are classified: the choice stays a property of
    // the input, and a crash reproduces. A small flow cap makes inputs with a few connections reach eviction.
    struct td_pipeline_options popts = {.limits = td_limits_default(), .classify = size % 8 == 0,
                                        .rules = builtin_rules()};
    popts.limits.max_flows = 8;
    struct td_report_options ropts = {.json_path = "/dev/null", .summary = NULL, .tool_version = "fuzz"};
    struct td_report *report = td_report_new(&ropts);
    if (report == NULL) {
        __builtin_trap();
    }
    struct td_pipeline_result result;
    struct td_flow_stats flow_stats = {0};
    enum td_err rc = td_pipeline_run(&popts, paths, 1, report, null_stream(), &result, &flow_stats);
    if (rc == TD_OK && result.inputs_read + result.inputs_partial > 0) {
        struct td_error err = {0};
        if (td_report_finish(report, &flow_stats, &popts.limits, &err) != TD_OK) {
            fprintf(stderr, "fuzz_capture: report not written: %s\n", err.msg);
            __builtin_trap(); // /dev/null always takes the JSON
        }
    }
    td_report_free(report);
    close(fd);
    return 0;
}
