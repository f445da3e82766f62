/* SPDX-License-Identifier: MIT */
/* main.c: tlsdiag's command line: options, the offline run, exit codes. The only place that prints errors. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exit_codes.h"
#include "pipeline.h"
#include "rules_cmd.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: tlsdiag [OPTIONS] FILE|DIR...\n"
            "       tlsdiag rules [--rules DIR] [list | explain ID | fields]\n"
            "Passive TLS failure analyzer: reads captures (pcap, pcapng, NetMon 2.x .cap, gzip-compressed),\n"
            "reassembles TCP, dissects every TLS handshake and reports what happened, with frame numbers.\n"
            "Directories are read recursively; files in them that are not captures are skipped.\n"
            "\n"
            "Options:\n"
            "  -j, --json FILE          write the JSON report to FILE ('-' for stdout; written atomically)\n"
            "  -q, --quiet              no human summary on stdout\n"
            "  -a, --all                also report TCP connections that carried no TLS\n"
            "  -r, --rules DIR          also load the *.rules files of DIR (docs/RULES.md)\n"
            "      --no-rules           report facts only, no diagnosis\n"
            "      --no-classify        do not run nDPI protocol classification\n"
            "      --max-flows N        flows tracked at once (default %u; least recently active evicted)\n"
            "      --max-reasm-bytes N  out-of-order bytes buffered per direction (default %u)\n"
            "      --max-handshake-bytes N  largest handshake message kept (default %u)\n"
            "      --max-timeline N     timeline events kept per connection (default %u)\n"
            "      --max-conn-arena-bytes N  bytes of dissected details kept per connection (default %u)\n"
            "      --max-records-per-chunk N  TLS records parsed from one delivery of stream bytes (default %u)\n"
            "      --idle-timeout SECONDS  capture time without a packet that ends a flow (default %llu; 0 = never)\n"
            "  -h, --help               this help\n"
            "  -V, --version            print the version\n"
            "Limits are described in docs/SECURITY.md; the report counts each one that was hit.\n"
            "\n"
            "Exit codes: 0 all inputs analysed; 2 usage error; 3 no input could be read; 4 some input was\n"
            "unreadable or broke mid-way (the report covers what was read); 5 the report could not be written;\n"
            "6 out of memory or internal error; 7 a rule file has an error or cannot be read.\n",
            TD_DEFAULT_MAX_FLOWS, TD_DEFAULT_MAX_REASM_BYTES, TD_DEFAULT_MAX_HS_MSG_BYTES, TD_DEFAULT_MAX_TIMELINE,
            TD_DEFAULT_MAX_CONN_ARENA_BYTES, TD_DEFAULT_MAX_RECORDS_PER_CHUNK,
            (unsigned long long)(TD_DEFAULT_IDLE_TIMEOUT_NS / 1000000000ull));
}

/* parse_u32 reads a decimal option value in [min, max]. */
static bool parse_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max) {
        fprintf(stderr, "tlsdiag: --%s: '%s' is not a number from %u to %u\n", opt, s, min, max);
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

enum {
    OPT_NO_CLASSIFY = 256,
    OPT_NO_RULES,
    OPT_MAX_FLOWS,
    OPT_MAX_REASM,
    OPT_MAX_HS,
    OPT_MAX_TIMELINE,
    OPT_MAX_ARENA,
    OPT_MAX_RECORDS,
    OPT_IDLE_TIMEOUT,
};

/* One year: a longer idle timeout is "never", which 0 already says. */
#define MAX_IDLE_TIMEOUT_S (366u * 24u * 3600u)

/* run analyses the inputs with the loaded rules and writes the report; returns the exit status. */
static int run(const struct td_pipeline_options *popts, const struct td_report_options *ropts, char *const *paths,
               size_t num_paths)
{
    struct td_report *report = td_report_new(ropts);
    if (report == NULL) {
        fprintf(stderr, "tlsdiag: out of memory\n");
        return TD_EXIT_INTERNAL;
    }
    struct td_pipeline_result result;
    struct td_flow_stats flow_stats = {0};
    enum td_err rc = td_pipeline_run(popts, paths, num_paths, report, stderr, &result, &flow_stats);
    if (rc != TD_OK) {
        fprintf(stderr, "tlsdiag: out of memory; lower --max-flows or split the input\n");
        td_report_free(report);
        return TD_EXIT_INTERNAL;
    }
    if (result.inputs_read + result.inputs_partial == 0) {
        if (result.inputs_failed == 0) {
            fprintf(stderr, "tlsdiag: no capture files found in the given paths\n");
        }
        td_report_free(report);
        return TD_EXIT_NO_INPUT;
    }
    struct td_error err = {0};
    if (td_report_finish(report, &flow_stats, &popts->limits, &err) != TD_OK) {
        fprintf(stderr, "tlsdiag: %s\n", err.msg);
        td_report_free(report);
        return err.code == TD_ERR_IO ? TD_EXIT_OUTPUT : TD_EXIT_INTERNAL;
    }
    td_report_free(report);
    if (result.inputs_partial > 0 || result.inputs_failed > 0) {
        return TD_EXIT_PARTIAL_INPUT;
    }
    return TD_EXIT_ANALYSED;
}

int main(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"json", required_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"all", no_argument, NULL, 'a'},
        {"no-classify", no_argument, NULL, OPT_NO_CLASSIFY},
        {"rules", required_argument, NULL, 'r'},
        {"no-rules", no_argument, NULL, OPT_NO_RULES},
        {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
        {"max-reasm-bytes", required_argument, NULL, OPT_MAX_REASM},
        {"max-handshake-bytes", required_argument, NULL, OPT_MAX_HS},
        {"max-timeline", required_argument, NULL, OPT_MAX_TIMELINE},
        {"max-conn-arena-bytes", required_argument, NULL, OPT_MAX_ARENA},
        {"max-records-per-chunk", required_argument, NULL, OPT_MAX_RECORDS},
        {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    if (argc >= 2 && strcmp(argv[1], "rules") == 0) {
        return td_cli_rules_main(argc - 2, argv + 2); /* a capture named "rules" is read as ./rules */
    }
    struct td_pipeline_options popts = {.limits = td_limits_default(), .classify = true};
    const char *rules_dir = NULL;
    bool use_rules = true;
    struct td_report_options ropts = {.summary = stdout, .tool_version = TLSDIAG_VERSION};
    int ch;
    while ((ch = getopt_long(argc, argv, "j:qar:hV", long_opts, NULL)) != -1) {
        switch (ch) {
        case 'j':
            ropts.json_path = optarg;
            break;
        case 'q':
            ropts.summary = NULL;
            break;
        case 'a':
            ropts.include_non_tls = true;
            break;
        case OPT_NO_CLASSIFY:
            popts.classify = false;
            break;
        case 'r':
            rules_dir = optarg;
            break;
        case OPT_NO_RULES:
            use_rules = false;
            break;
        case OPT_MAX_FLOWS:
            if (!parse_u32("max-flows", optarg, 1, 100000000u, &popts.limits.max_flows)) {
                return TD_EXIT_USAGE;
            }
            break;
        case OPT_MAX_REASM:
            if (!parse_u32("max-reasm-bytes", optarg, 0, 1u << 30, &popts.limits.max_reasm_bytes)) {
                return TD_EXIT_USAGE;
            }
            break;
        case OPT_MAX_HS:
            /* at least 64 KB: the CA-list signature must be measurable past 16 KB (KB 2801679) */
            if (!parse_u32("max-handshake-bytes", optarg, 65536, 1u << 28, &popts.limits.max_hs_msg_bytes)) {
                return TD_EXIT_USAGE;
            }
            break;
        case OPT_MAX_TIMELINE:
            if (!parse_u32("max-timeline", optarg, 8, 1u << 20, &popts.limits.max_timeline)) {
                return TD_EXIT_USAGE;
            }
            break;
        case OPT_MAX_ARENA:
            /* at least 16 KB: below that even a ClientHello's lists are dropped and the report says little */
            if (!parse_u32("max-conn-arena-bytes", optarg, 16384, 1u << 30, &popts.limits.max_conn_arena_bytes)) {
                return TD_EXIT_USAGE;
            }
            break;
        case OPT_MAX_RECORDS:
            if (!parse_u32("max-records-per-chunk", optarg, 1, 1u << 24, &popts.limits.max_records_per_chunk)) {
                return TD_EXIT_USAGE;
            }
            break;
        case OPT_IDLE_TIMEOUT: {
            uint32_t secs = 0;
            if (!parse_u32("idle-timeout", optarg, 0, MAX_IDLE_TIMEOUT_S, &secs)) {
                return TD_EXIT_USAGE;
            }
            popts.limits.idle_timeout_ns = (uint64_t)secs * 1000000000ull;
            break;
        }
        case 'h':
            usage(stdout);
            return TD_EXIT_ANALYSED;
        case 'V':
            printf("tlsdiag %s\n", TLSDIAG_VERSION);
            return TD_EXIT_ANALYSED;
        default:
            fprintf(stderr, "Try 'tlsdiag --help'.\n");
            return TD_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "tlsdiag: no input: give one or more capture files or directories (try --help)\n");
        return TD_EXIT_USAGE;
    }
    if (ropts.json_path != NULL && strcmp(ropts.json_path, "-") == 0) {
        ropts.summary = NULL; /* stdout carries the JSON */
    }

    struct td_ruleset *rules = NULL;
    if (use_rules) {
        rules = td_cli_load_rules(rules_dir, stderr);
        if (rules == NULL) {
            return TD_EXIT_RULES;
        }
    }
    popts.rules = rules;
    int rc = run(&popts, &ropts, argv + optind, (size_t)(argc - optind));
    td_ruleset_free(rules);
    return rc;
}
