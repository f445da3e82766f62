/* SPDX-License-Identifier: MIT */
/* (being written) */
#include "../reports/report.h"
