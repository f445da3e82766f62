/* SPDX-License-Identifier: MIT */
/* main.c: tlsdiag's command line: options, the offline run, exit codes. The only place that prints errors. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exit_codes.h"
#include "../reports/filter.h"
#include "../capture/evidence.h"
#include "../dissect/cert.h"
#include "../dissect/digest.h"
#include "live_run.h"
#include "pipeline.h"
#include "progress.h"
#include "rules_cmd.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: tlsdiag [OPTIONS] FILE|DIR...\n"
            "       tlsdiag live [-i IFACE] [-f BPF] [LIVE OPTIONS] [OPTIONS]\n"
            "       tlsdiag rules [--rules DIR] [list | explain ID | fields]\n"
            "Passive TLS failure analyzer: reads captures (pcap, pcapng, NetMon 2.x .cap, gzip-compressed),\n"
            "reassembles TCP, dissects every TLS handshake and reports what happened, with frame numbers.\n"
            "Directories are read recursively; files in them that are not captures are skipped.\n"
            "\n"
            "Options:\n"
            "  -j, --json FILE          write the JSON report to FILE ('-' for stdout; written atomically)\n"
            "  -e, --events FILE        stream NDJSON events (ECS names, docs/EVENTS.md) to FILE ('-' for stdout),\n"
            "                           one line per connection as it ends, flushed\n"
            "  -q, --quiet              no human summary on stdout\n"
            "  -a, --all                also report TCP connections that carried no TLS\n"
            "      --server SPEC        list only connections to this server: ADDR, ADDR:PORT, NET/LEN, :PORT,\n"
            "                           [V6ADDR]:PORT (repeatable: any of them)\n"
            "      --client SPEC        list only connections from this client (same forms)\n"
            "      --sni GLOB           list only connections whose SNI matches (case-insensitive, repeatable)\n"
            "      --failures-only      list only failed handshakes and connections with an error finding\n"
            "      --min-severity LEVEL list only connections with a finding of at least info|warning|error\n"
            "      --progress, --no-progress  progress line on stderr (default: when stderr is a terminal)\n"
            "  -t, --threads N          worker threads, files and live (default: the number of cores; results\n"
            "                           are identical to one thread; --evidence uses one)\n"
            "      --evidence DIR       write the frames of every failed connection to DIR/<input>-<frame>-...pcap\n"
            "  -r, --rules DIR          also load the *.rules files of DIR (docs/RULES.md)\n"
            "      --no-rules           report facts only, no diagnosis\n"
            "      --no-classify        do not run nDPI protocol classification\n"
            "      --no-spill           keep every connection's details in memory (default: past 2048 idle\n"
            "                           connections after their handshake, the oldest go to a file in $TMPDIR)\n"
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
            "\n",
            TD_DEFAULT_MAX_FLOWS, TD_DEFAULT_MAX_REASM_BYTES, TD_DEFAULT_MAX_HS_MSG_BYTES, TD_DEFAULT_MAX_TIMELINE,
            TD_DEFAULT_MAX_CONN_ARENA_BYTES, TD_DEFAULT_MAX_RECORDS_PER_CHUNK,
            (unsigned long long)(TD_DEFAULT_IDLE_TIMEOUT_NS / 1000000000ull));
    fprintf(out,
            "Live options (tlsdiag live; events go to stdout unless --events FILE; stop with SIGINT or SIGTERM,\n"
            "SIGHUP reopens the --events file after log rotation):\n"
            "  -i, --interface IFACE    capture on IFACE (default: any)\n"
            "  -f, --filter BPF         capture filter (default: tcp; DTLS needs udp too: 'tcp or udp port 443')\n"
            "      --snaplen N          bytes kept per packet (default %u)\n"
            "      --buffer-size MB     kernel capture buffer (default %u)\n"
            "      --promisc            put the interface in promiscuous mode (a span port needs it)\n"
            "  -Z, --user USER          drop root for USER once the capture is open\n"
            "      --stats-interval S   a statistics event every S seconds (default 60; 0: only at the end)\n"
            "\n"
            "Exit codes: 0 all inputs analysed; 2 usage error; 3 no input could be read; 4 some input was\n"
            "unreadable or broke mid-way (the report covers what was read); 5 the report could not be written;\n"
            "6 out of memory or internal error; 7 a rule file has an error or cannot be read.\n"
            "130/143: interrupted by SIGINT/SIGTERM (no report written; a previous one is left unchanged).\n"
            "Live: 0 stopped by a signal; 2 bad interface, filter or user; 3 the capture could not be opened\n"
            "(permission: run as root or give the binary CAP_NET_RAW,CAP_NET_ADMIN); 4 the capture broke.\n",
            TD_LIVE_DEFAULT_SNAPLEN, TD_LIVE_DEFAULT_BUFFER_MB);
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
    OPT_NO_SPILL,
    OPT_NO_RULES,
    OPT_MAX_FLOWS,
    OPT_MAX_REASM,
    OPT_MAX_HS,
    OPT_MAX_TIMELINE,
    OPT_MAX_ARENA,
    OPT_MAX_RECORDS,
    OPT_IDLE_TIMEOUT,
    OPT_SERVER,
    OPT_CLIENT,
    OPT_SNI,
    OPT_FAILURES_ONLY,
    OPT_MIN_SEVERITY,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
    OPT_EVIDENCE,
    OPT_SNAPLEN,
    OPT_BUFFER_SIZE,
    OPT_PROMISC,
    OPT_STATS_INTERVAL,
};

/* More threads than this buys nothing: every worker reads the whole file. */
#define MAX_THREADS 64u

/* One year: a longer idle timeout is "never", which 0 already says. */
#define MAX_IDLE_TIMEOUT_S (366u * 24u * 3600u)

/* Live statistics events, by default once a minute. */
#define DEFAULT_STATS_INTERVAL_S 60u

static bool is_live_option(int ch)
{
    return ch == 'i' || ch == 'f' || ch == 'Z' || ch == OPT_SNAPLEN || ch == OPT_BUFFER_SIZE || ch == OPT_PROMISC ||
           ch == OPT_STATS_INTERVAL;
}

/* Everything the command line chose. */
struct cli {
    struct td_pipeline_options popts;
    struct td_report_options ropts;
    const char *rules_dir;
    bool use_rules;
    const char *events_path;   /* NULL: no events; "-": stdout */
    int progress;              /* -1 auto (stderr is a terminal), 0 off, 1 on */
    struct td_filter *filter;
    const char *evidence_dir;  /* --evidence */
    bool live;                 /* tlsdiag live */
    struct td_live_run_options live_opts;
};

/* open_events opens the NDJSON stream: stdout, or FILE appended to (a log that is rotated and reopened). */
static FILE *open_events(const char *path)
{
    if (strcmp(path, "-") == 0) {
        return stdout;
    }
    FILE *f = fopen(path, "a");
    if (f == NULL) {
        fprintf(stderr, "tlsdiag: --events: cannot open '%s': %s; check the directory exists and is writable\n",
                path, strerror(errno));
    }
    return f;
}

/* The signal that interrupted an offline run (0: none): reading stops at the next frame, no report is written. */
static volatile sig_atomic_t g_interrupt;

static void on_interrupt(int sig)
{
    g_interrupt = sig;
}

static void catch_interrupts(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGTERM, &sa, NULL);
    /* A reader of standard output that went away (`--events - | head`) stops the run the same way: the report
     * being written beside the --json path is removed, which being killed by the signal would leave behind. */
    (void)sigaction(SIGPIPE, &sa, NULL);
}

static const char *interrupt_name(int sig)
{
    return sig == SIGTERM ? "SIGTERM" : sig == SIGPIPE ? "SIGPIPE (the output pipe was closed)" : "SIGINT";
}

/* close_events closes the event file (not stdout); false (said on stderr) when its last writes failed. */
static bool close_events(FILE *events)
{
    if (events == NULL || events == stdout) {
        return true;
    }
    if (fclose(events) != 0) {
        fprintf(stderr, "tlsdiag: --events: writing the event file failed: %s\n", strerror(errno));
        return false;
    }
    return true;
}

/* run analyses the inputs with the loaded rules and writes the report; returns the exit status. */
static int run(struct cli *cli, char *const *paths, size_t num_paths)
{
    FILE *events = NULL;
    if (cli->events_path != NULL) {
        events = open_events(cli->events_path);
        if (events == NULL) {
            return TD_EXIT_OUTPUT;
        }
        cli->ropts.events = events;
    }
    struct td_evidence *evidence = NULL;
    if (cli->evidence_dir != NULL) {
        struct td_evidence_options eo = {.dir = cli->evidence_dir};
        struct td_error err = {0};
        if (td_evidence_new(&eo, &evidence, &err) != TD_OK) {
            fprintf(stderr, "tlsdiag: --evidence: %s\n", err.msg);
            close_events(events);
            return err.code == TD_ERR_USAGE ? TD_EXIT_USAGE : TD_EXIT_INTERNAL;
        }
        cli->popts.evidence = evidence;
    }
    if (!cli->live) {
        catch_interrupts(); /* live capture handles SIGINT and SIGTERM itself: they are how it is stopped */
        cli->popts.stop = &g_interrupt;
        cli->ropts.interrupted = &g_interrupt;
    }
    struct td_report *report = td_report_new(&cli->ropts);
    if (report == NULL) {
        fprintf(stderr, "tlsdiag: out of memory\n");
        td_evidence_free(evidence);
        close_events(events);
        return TD_EXIT_INTERNAL;
    }
    if (cli->live) {
        struct td_flow_stats flow_stats = {0};
        int status = td_live_run(&cli->popts, &cli->live_opts, report, &events, stderr, &flow_stats);
        if (status == TD_EXIT_ANALYSED || status == TD_EXIT_PARTIAL_INPUT) {
            struct td_error err = {0};
            if (td_report_finish(report, &flow_stats, &cli->popts.limits, &err) != TD_OK) {
                fprintf(stderr, "tlsdiag: %s\n", err.msg);
                status = err.code == TD_ERR_IO ? TD_EXIT_OUTPUT : TD_EXIT_INTERNAL;
            }
        }
        td_report_free(report);
        td_evidence_free(evidence);
        if (!close_events(events) && status == TD_EXIT_ANALYSED) {
            status = TD_EXIT_OUTPUT;
        }
        return status;
    }
    bool show = cli->progress == 1 || (cli->progress == -1 && td_progress_is_terminal(stderr));
    struct td_progress *progress = NULL;
    if (show) {
        uint64_t bytes = 0;
        size_t files = 0;
        td_pipeline_measure(paths, num_paths, &bytes, &files);
        progress = td_progress_new(stderr, true, bytes, files);
    }
    cli->popts.progress = progress;
    struct td_pipeline_result result;
    struct td_flow_stats flow_stats = {0};
    enum td_err rc = td_pipeline_run(&cli->popts, paths, num_paths, report, stderr, &result, &flow_stats);
    td_progress_free(progress);
    int status = TD_EXIT_ANALYSED;
    if (result.interrupted) {
        fprintf(stderr,
                "tlsdiag: interrupted by %s after %llu frames: no report was written%s%s%s\n",
                interrupt_name(g_interrupt), (unsigned long long)result.frames,
                cli->ropts.json_path != NULL && strcmp(cli->ropts.json_path, "-") != 0 ? "; '" : "",
                cli->ropts.json_path != NULL && strcmp(cli->ropts.json_path, "-") != 0 ? cli->ropts.json_path : "",
                cli->ropts.json_path != NULL && strcmp(cli->ropts.json_path, "-") != 0
                    ? "' is unchanged (the previous report, if there was one)" : "");
        status = 128 + (int)g_interrupt;
    } else if (rc != TD_OK) {
        fprintf(stderr, "tlsdiag: out of memory; lower --max-flows or split the input\n");
        status = TD_EXIT_INTERNAL;
    } else if (result.inputs_read + result.inputs_partial == 0) {
        if (result.inputs_failed == 0) {
            fprintf(stderr, "tlsdiag: no capture files found in the given paths\n");
        }
        status = TD_EXIT_NO_INPUT;
    } else {
        struct td_error err = {0};
        if (td_report_finish(report, &flow_stats, &cli->popts.limits, &err) != TD_OK) {
            fprintf(stderr, "tlsdiag: %s\n", err.msg);
            status = g_interrupt != 0 ? 128 + (int)g_interrupt
                     : err.code == TD_ERR_IO ? TD_EXIT_OUTPUT : TD_EXIT_INTERNAL;
        } else if (result.inputs_partial > 0 || result.inputs_failed > 0) {
            status = TD_EXIT_PARTIAL_INPUT;
        }
    }
    td_report_free(report);
    td_evidence_free(evidence);
    if (!close_events(events) && status == TD_EXIT_ANALYSED) {
        status = TD_EXIT_OUTPUT;
    }
    return status;
}

/* filter_option adds one --server/--client/--sni value; false (after saying why) when it is not valid. */
static bool filter_option(struct cli *cli, int opt, const char *value)
{
    struct td_error err = {0};
    if (cli->filter == NULL && td_filter_new(&cli->filter) != TD_OK) {
        fprintf(stderr, "tlsdiag: out of memory\n");
        return false;
    }
    enum td_err rc = TD_OK;
    switch (opt) {
    case OPT_SERVER:
        rc = td_filter_add_server(cli->filter, value, &err);
        break;
    case OPT_CLIENT:
        rc = td_filter_add_client(cli->filter, value, &err);
        break;
    case OPT_SNI:
        rc = td_filter_add_sni(cli->filter, value, &err);
        break;
    case OPT_FAILURES_ONLY:
        td_filter_set_failures_only(cli->filter, true);
        break;
    case OPT_MIN_SEVERITY: {
        enum td_severity sev;
        if (!td_severity_parse(value, &sev)) {
            fprintf(stderr, "tlsdiag: --min-severity: '%s' is not info, warning or error\n", value);
            return false;
        }
        td_filter_set_min_severity(cli->filter, sev);
        break;
    }
    default:
        break;
    }
    if (rc != TD_OK) {
        fprintf(stderr, "tlsdiag: %s\n", err.msg);
        return false;
    }
    return true;
}

/* parse_limit handles the limit options; returns 1 when opt was one and valid, 0 when not one, -1 invalid. */
static int parse_limit(struct td_limits *limits, int opt, const char *value)
{
    switch (opt) {
    case OPT_MAX_FLOWS:
        return parse_u32("max-flows", value, 1, 100000000u, &limits->max_flows) ? 1 : -1;
    case OPT_MAX_REASM:
        return parse_u32("max-reasm-bytes", value, 0, 1u << 30, &limits->max_reasm_bytes) ? 1 : -1;
    case OPT_MAX_HS:
        /* at least 64 KB: the CA-list signature must be measurable past 16 KB (KB 2801679) */
        return parse_u32("max-handshake-bytes", value, 65536, 1u << 28, &limits->max_hs_msg_bytes) ? 1 : -1;
    case OPT_MAX_TIMELINE:
        return parse_u32("max-timeline", value, 8, 1u << 20, &limits->max_timeline) ? 1 : -1;
    case OPT_MAX_ARENA:
        /* at least 16 KB: below that even a ClientHello's lists are dropped and the report says little */
        return parse_u32("max-conn-arena-bytes", value, 16384, 1u << 30, &limits->max_conn_arena_bytes) ? 1 : -1;
    case OPT_MAX_RECORDS:
        return parse_u32("max-records-per-chunk", value, 1, 1u << 24, &limits->max_records_per_chunk) ? 1 : -1;
    case OPT_IDLE_TIMEOUT: {
        uint32_t secs = 0;
        if (!parse_u32("idle-timeout", value, 0, MAX_IDLE_TIMEOUT_S, &secs)) {
            return -1;
        }
        limits->idle_timeout_ns = (uint64_t)secs * 1000000000ull;
        return 1;
    }
    default:
        return 0;
    }
}

int main(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"json", required_argument, NULL, 'j'},
        {"events", required_argument, NULL, 'e'},
        {"server", required_argument, NULL, OPT_SERVER},
        {"client", required_argument, NULL, OPT_CLIENT},
        {"sni", required_argument, NULL, OPT_SNI},
        {"failures-only", no_argument, NULL, OPT_FAILURES_ONLY},
        {"min-severity", required_argument, NULL, OPT_MIN_SEVERITY},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        {"evidence", required_argument, NULL, OPT_EVIDENCE},
        {"threads", required_argument, NULL, 't'},
        {"interface", required_argument, NULL, 'i'},
        {"filter", required_argument, NULL, 'f'},
        {"snaplen", required_argument, NULL, OPT_SNAPLEN},
        {"buffer-size", required_argument, NULL, OPT_BUFFER_SIZE},
        {"promisc", no_argument, NULL, OPT_PROMISC},
        {"user", required_argument, NULL, 'Z'},
        {"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
        {"quiet", no_argument, NULL, 'q'},
        {"all", no_argument, NULL, 'a'},
        {"no-classify", no_argument, NULL, OPT_NO_CLASSIFY},
        {"no-spill", no_argument, NULL, OPT_NO_SPILL},
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
    struct cli cli = {
        .popts = {.limits = td_limits_default(), .classify = true},
        .ropts = {.summary = stdout, .tool_version = TLSDIAG_VERSION},
        .use_rules = true,
        .progress = -1,
        .live_opts = {.stats_interval_s = DEFAULT_STATS_INTERVAL_S},
    };
    if (argc >= 2 && strcmp(argv[1], "live") == 0) {
        cli.live = true; /* a capture named "live" is read as ./live */
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    int status = TD_EXIT_USAGE;
    int ch;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cli.popts.threads = cores < 1 ? 1u : cores > (long)MAX_THREADS ? MAX_THREADS : (uint32_t)cores;
    while ((ch = getopt_long(argc, argv, "j:e:qar:hVi:f:Z:t:", long_opts, NULL)) != -1) {
        if (!cli.live && is_live_option(ch)) {
            fprintf(stderr, "tlsdiag: %s is an option of 'tlsdiag live' (try --help)\n", argv[optind - 1]);
            goto out;
        }
        int lim = parse_limit(&cli.popts.limits, ch, optarg);
        if (lim < 0) {
            goto out;
        }
        if (lim > 0) {
            continue;
        }
        switch (ch) {
        case 'j':
            cli.ropts.json_path = optarg;
            break;
        case 'e':
            cli.events_path = optarg;
            break;
        case 'q':
            cli.ropts.summary = NULL;
            break;
        case 'a':
            cli.ropts.include_non_tls = true;
            break;
        case OPT_NO_CLASSIFY:
            cli.popts.classify = false;
            break;
        case OPT_NO_SPILL:
            cli.popts.no_spill = true;
            break;
        case 'r':
            cli.rules_dir = optarg;
            break;
        case OPT_NO_RULES:
            cli.use_rules = false;
            break;
        case OPT_SERVER:
        case OPT_CLIENT:
        case OPT_SNI:
        case OPT_FAILURES_ONLY:
        case OPT_MIN_SEVERITY:
            if (!filter_option(&cli, ch, optarg)) {
                goto out;
            }
            break;
        case OPT_EVIDENCE:
            cli.evidence_dir = optarg;
            break;
        case 't':
            if (!parse_u32("threads", optarg, 1, MAX_THREADS, &cli.popts.threads)) {
                goto out;
            }
            break;
        case 'i':
            cli.live_opts.live.iface = optarg;
            break;
        case 'f':
            cli.live_opts.live.filter = optarg;
            break;
        case OPT_SNAPLEN:
            if (!parse_u32("snaplen", optarg, 64, TD_LIVE_DEFAULT_SNAPLEN, &cli.live_opts.live.snaplen)) {
                goto out;
            }
            break;
        case OPT_BUFFER_SIZE:
            if (!parse_u32("buffer-size", optarg, 1, TD_LIVE_MAX_BUFFER_MB, &cli.live_opts.live.buffer_mb)) {
                goto out;
            }
            break;
        case OPT_PROMISC:
            cli.live_opts.live.promisc = true;
            break;
        case 'Z':
            cli.live_opts.drop_user = optarg;
            break;
        case OPT_STATS_INTERVAL:
            if (!parse_u32("stats-interval", optarg, 0, 86400, &cli.live_opts.stats_interval_s)) {
                goto out;
            }
            break;
        case OPT_PROGRESS:
            cli.progress = 1;
            break;
        case OPT_NO_PROGRESS:
            cli.progress = 0;
            break;
        case 'h':
            usage(stdout);
            status = TD_EXIT_ANALYSED;
            goto out;
        case 'V':
            printf("tlsdiag %s\n", TLSDIAG_VERSION);
            status = TD_EXIT_ANALYSED;
            goto out;
        default:
            fprintf(stderr, "Try 'tlsdiag --help'.\n");
            goto out;
        }
    }
    if (cli.live && optind < argc) {
        fprintf(stderr, "tlsdiag live: unexpected argument '%s' (the interface is given with -i)\n", argv[optind]);
        goto out;
    }
    if (!cli.live && optind >= argc) {
        fprintf(stderr, "tlsdiag: no input: give one or more capture files or directories (try --help)\n");
        goto out;
    }
    if (cli.live) {
        /* Live output is the event stream; the summary would wait for the end of the capture. */
        cli.ropts.summary = NULL;
        if (cli.events_path == NULL) {
            cli.events_path = "-";
        }
        cli.live_opts.events_path = cli.events_path;
        cli.progress = 0;
    }
    bool json_stdout = cli.ropts.json_path != NULL && strcmp(cli.ropts.json_path, "-") == 0;
    bool events_stdout = cli.events_path != NULL && strcmp(cli.events_path, "-") == 0;
    if (json_stdout && events_stdout) {
        fprintf(stderr, "tlsdiag: --json - and --events - both want standard output; send one to a file\n");
        goto out;
    }
    if (json_stdout || events_stdout) {
        cli.ropts.summary = NULL; /* stdout carries the JSON */
    }
    cli.ropts.filter = cli.filter;
    struct td_ruleset *rules = NULL;
    if (cli.use_rules) {
        rules = td_cli_load_rules(cli.rules_dir, stderr);
        if (rules == NULL) {
            status = TD_EXIT_RULES;
            goto out;
        }
    }
    cli.popts.rules = rules;
    status = run(&cli, argv + optind, (size_t)(argc - optind));
    td_ruleset_free(rules);
out:
    td_filter_free(cli.filter);
    td_cert_cache_free_thread(); /* worker threads free theirs as they exit */
    td_digest_free_thread();
    return status;
}
