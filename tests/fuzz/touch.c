/* SPDX-License-Identifier: MIT */
/* touch.c: reads every fact a dissected connection or certificate holds (facts.h), element by element, so
 * that a fact pointing outside its arena, a wrong count or an unterminated string is an ASan report in the
 * fuzz target that produced it instead of a crash later in reports/. */
#include <string.h>

#include "fuzz.h"
#include "../../dissect/fingerprint.h"

static uint64_t touch_str(const char *s)
{
    return s == NULL ? 0 : (uint64_t)strlen(s);
}

static uint64_t touch_strs(char *const *v, uint32_t num)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; v != NULL && i < num; i++) {
        sum += touch_str(v[i]);
    }
    return sum;
}

static uint64_t touch_list(const struct td_u16_list *l)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; l->v != NULL && i < l->num; i++) {
        sum += l->v[i];
    }
    return sum;
}

static uint64_t touch_client_hello(const struct td_client_hello *ch)
{
    uint64_t sum = ch->ev.frame + ch->legacy_version + ch->compression_methods_len + (uint64_t)ch->anomaly;
    sum += touch_list(&ch->ciphers) + touch_list(&ch->extensions) + touch_list(&ch->supported_versions);
    sum += touch_list(&ch->groups) + touch_list(&ch->sig_algs) + touch_list(&ch->ec_point_formats);
    for (uint32_t i = 0; ch->key_shares != NULL && i < ch->num_key_shares; i++) {
        sum += ch->key_shares[i].group + ch->key_shares[i].key_len;
    }
    sum += touch_str(ch->sni) + touch_strs(ch->alpn, ch->num_alpn);
    // The fingerprints are computed when reported (fingerprint.h): compute them here so fuzzed hellos reach that
    // code too.
    struct td_fingerprints fp;
    td_fingerprint_client_hello(ch, &fp);
    sum += strnlen(fp.ja3, sizeof(fp.ja3)) + strnlen(fp.ja3_hash, sizeof(fp.ja3_hash));
    sum += strnlen(fp.ja4, sizeof(fp.ja4));
    return sum;
}

static uint64_t touch_server_hello(const struct td_server_hello *sh)
{
    uint64_t sum = sh->ev.frame + sh->selected_version + sh->cipher + sh->key_share_group + (uint64_t)sh->anomaly;
    return sum + touch_list(&sh->extensions) + touch_str(sh->alpn);
}

uint64_t td_fuzz_touch_cert(const struct td_cert *c)
{
    uint64_t sum = c->der_len + c->key_bits + (uint64_t)c->not_before + (uint64_t)c->not_after;
    sum += strnlen(c->sha256, sizeof(c->sha256)) + strnlen(c->key_type, sizeof(c->key_type));
    sum += touch_str(c->subject) + touch_str(c->issuer) + touch_str(c->serial) + touch_str(c->sig_alg);
    return sum + touch_strs(c->sans, c->num_sans) + touch_strs(c->ekus, c->num_ekus);
}

static uint64_t touch_chain(const struct td_cert_chain *chain)
{
    if (chain == NULL) {
        return 0;
    }
    uint64_t sum = chain->ev.frame + chain->num_sent + chain->total_len;
    for (uint32_t i = 0; chain->certs != NULL && i < chain->num_certs; i++) {
        sum += td_fuzz_touch_cert(&chain->certs[i]);
    }
    return sum;
}

uint64_t td_fuzz_touch_facts(const struct td_tls_facts *f)
{
    // Counts of fixed arrays past their size are overruns ASan cannot see inside the struct: trap on them.
    if (f->num_client_hellos > TD_MAX_HELLOS || f->num_server_hellos > TD_MAX_HELLOS ||
        f->num_first_app_data_lens[0] > TD_FIRST_APP_DATA_LENS || f->num_first_app_data_lens[1] > TD_FIRST_APP_DATA_LENS) {
        __builtin_trap();
    }
    uint64_t sum = f->version + f->cipher + (uint64_t)f->outcome + (uint64_t)f->outcome_alert;
    for (uint32_t i = 0; i < f->num_client_hellos; i++) {
        sum += touch_client_hello(f->client_hellos[i]);
    }
    for (uint32_t i = 0; i < f->num_server_hellos; i++) {
        sum += touch_server_hello(f->server_hellos[i]);
    }
    sum += touch_chain(f->server_certs) + touch_chain(f->client_certs);
    if (f->cert_request != NULL) {
        sum += touch_list(&f->cert_request->cert_types) + touch_list(&f->cert_request->sig_algs);
        sum += f->cert_request->ca_list_len + f->cert_request->num_ca_names;
    }
    for (uint32_t i = 0; f->alerts != NULL && i < f->num_alerts; i++) {
        sum += f->alerts[i].ev.frame + f->alerts[i].level + f->alerts[i].description;
    }
    for (uint32_t i = 0; f->timeline != NULL && i < f->num_events; i++) {
        sum += f->timeline[i].ev.frame + f->timeline[i].kind + (uint64_t)f->timeline[i].detail;
    }
    for (uint32_t i = 0; f->anomalies != NULL && i < f->num_anomalies; i++) {
        sum += f->anomalies[i].ev.frame + (uint64_t)f->anomalies[i].code;
    }
    for (int role = 0; role < 2; role++) {
        for (uint32_t i = 0; i < f->num_first_app_data_lens[role]; i++) {
            sum += f->first_app_data_lens[role][i];
        }
    }
    return sum;
}
