/* SPDX-License-Identifier: MIT */
/* anomaly.h: protocol anomalies, generated from anomalies.def (Suricata's decoder-event table). */
#ifndef TD_DISSECT_ANOMALY_H
#define TD_DISSECT_ANOMALY_H

#define TD_ANOMALY(e, name, desc) TD_ANOM_##e,
enum td_anomaly {
#include "anomalies.def"
    TD_ANOM_COUNT
};
#undef TD_ANOMALY

/* td_anomaly_name: the stable dotted name ("tls.anomaly.trailing_bytes"); "unknown" when out of range. */
const char *td_anomaly_name(enum td_anomaly a);
/* td_anomaly_description: one line for humans. */
const char *td_anomaly_description(enum td_anomaly a);

#endif
