/* SPDX-License-Identifier: MIT */
/* anomaly.c: names and descriptions of anomalies, from anomalies.def. */
#include "anomaly.h"

#define TD_ANOMALY(e, name, desc) name,
static const char *const names[] = {
#include "anomalies.def"
};
#undef TD_ANOMALY
#define TD_ANOMALY(e, name, desc) desc,
static const char *const descriptions[] = {
#include "anomalies.def"
};
#undef TD_ANOMALY

const char *td_anomaly_name(enum td_anomaly a)
{
    return (unsigned)a < TD_ANOM_COUNT ? names[a] : "unknown";
}

const char *td_anomaly_description(enum td_anomaly a)
{
    return (unsigned)a < TD_ANOM_COUNT ? descriptions[a] : "unknown anomaly";
}
