/* SPDX-License-Identifier: MIT */
/* (being written) */
#include "report.h"
